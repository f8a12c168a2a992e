#!/usr/bin/env bats
# make image-check: the container image (Dockerfile) built for real with
# podman or docker (tools/container), run against a private RabbitMQ the
# way the Dockerfile's header comment says (URL in a secret file, a state
# volume), and a provider's image built on it exactly as that comment tells.
# Outside tests/, so that `make check` does not run it: it needs a container
# engine and takes a minute or two.  Every wait is bounded.
#
# setup_file builds both images and prints their figures; the containers
# of the file are started there too (all on the host's network: the broker
# listens on 127.0.0.1 only), and removed in teardown_file.
# shellcheck disable=SC2016,SC2030,SC2031,SC2154
# (scripts for the container in single quotes; bats' run sets $output and
# $stderr in each test's own subshell)
load ../tests/lib/common
load ../tests/lib/broker

: "${HCA_IMAGE:=hca-exec}"

# ctr ARG...: the engine through tools/container, bounded.
ctr() {
	timeout -k 5 120 "$TOP/tools/container" "$@"
}

# dockerfile_line INSTRUCTION [FILE]: the Dockerfile's logical lines
# (continuations joined, comments dropped) that start with INSTRUCTION.
dockerfile_line() {
	sed -e '/^[[:space:]]*#/d' -e ':a' -e '/\\$/{N;s/\\\n//;ta}' \
	    "${2:-$TOP/Dockerfile}" | awk -v i="$1" 'toupper($1) == i'
}

# The HEALTHCHECK's command, as the Dockerfile has it.
healthcheck_cmd() {
	dockerfile_line HEALTHCHECK | sed -n 's/^HEALTHCHECK .* CMD  *//p' |
	    sed 's/[[:space:]]\{2,\}/ /g'
}

# The provider's Dockerfile from the header comment: the lines from
# "#   FROM hca-exec" to "#   USER 10001:10001", without the "#   ".
provider_dockerfile() {
	sed -n '/^#   FROM hca-exec$/,/^#   USER 10001:10001$/s/^#   //p' \
	    "$TOP/Dockerfile" | sed "s|^FROM hca-exec\$|FROM $HCA_IMAGE|"
}

# start NAME IMAGE SERVICE [RUN-OPTIONS...]: run IMAGE detached as
# container NAME for SERVICE, the URL in the secret file, a state volume
# NAME-state, --declare; wait until it consumes.
start() {
	local name=$1 image=$2 service=$3 i
	shift 3
	ctr run -d --name "$name" --network host \
	    -e HCA_SERVICE="$service" -e HCA_URL_FILE=/run/secrets/hca_url \
	    -v "$SECRET:/run/secrets/hca_url:ro" \
	    -v "$name-state:/var/lib/hca-exec" "$@" "$image" --declare \
	    >/dev/null 2>&1 || { echo "$name did not start" >&2; return 1; }
	for ((i = 0; i < 150; i++)); do
		ctr logs "$name" 2>&1 | grep -q '"msg":"consuming ' && return 0
		sleep 0.1
	done
	echo "$name does not consume:" >&2
	ctr logs "$name" >&2
	return 1
}

# ask SERVICE KIND [hca-portal ARGS...]: one request through hca-portal,
# body on stdin; $output is the reply.  hca-portal waits at most 20 s.
ask() {
	local service=$1 kind=$2
	shift 2
	run --separate-stderr env HCA_SERVICE="$service" \
	    timeout -k 5 40 "$HCA_PORTAL" -w 20 -t "$kind" "$@"
}

# inside NAME SCRIPT: sh -c SCRIPT inside container NAME.
inside() {
	run --separate-stderr ctr exec "$1" sh -c "$2"
}

# health NAME: the image's health check of container NAME, as the engine
# runs it (podman healthcheck run), or its command inside (docker, which
# has no such verb).  $output: what the command said.
health() {
	if [ "$ENGINE" = podman ]; then
		run ctr healthcheck run "$1"
		HEALTH_ENGINE=$status
	fi
	run --separate-stderr ctr exec "$1" sh -c "$(healthcheck_cmd)"
}

# The ids of the untagged images.
dangling() {
	ctr images -q --no-trunc --filter dangling=true | sort -u
}

setup_file() {
	local t0 log=$BATS_FILE_TMPDIR/build.log
	ENGINE=$("$TOP/tools/container" engine)
	export ENGINE
	broker_start
	# The image, from nothing: timed, its log kept for the tests.  Images
	# left untagged by the builds (the build stage, the image replaced)
	# are removed in teardown_file; those that were there before are not.
	dangling >"$BATS_FILE_TMPDIR/dangling-before"
	t0=$(date +%s)
	make -s -C "$TOP" image IMAGE="$HCA_IMAGE" IMAGE_BUILD_FLAGS=--no-cache \
	    >"$log" 2>&1 || { tail -n 30 "$log" >&2; return 1; }
	BUILD_S=$(($(date +%s) - t0))
	# Found once for the file, not probed again at every run.
	HCA_CONTAINER_OPTIONS=$("$TOP/tools/container" host-options)
	export HCA_CONTAINER_OPTIONS

	# A provider's image, built from the header comment's lines.
	PROVIDER=$HCA_IMAGE-provider-check
	export PROVIDER
	mkdir "$BATS_FILE_TMPDIR/provider"
	provider_dockerfile >"$BATS_FILE_TMPDIR/provider/Dockerfile"
	cp -R "$BATS_TEST_DIRNAME/provider-hooks" "$BATS_FILE_TMPDIR/provider/hooks"
	t0=$(date +%s)
	# apt-get update and a package: bounded like make image's build
	timeout -k 30 "${IMAGE_BUILD_TIMEOUT:-20m}" "$TOP/tools/container" \
	    build --network host -t "$PROVIDER" "$BATS_FILE_TMPDIR/provider" \
	    >"$BATS_FILE_TMPDIR/provider.log" 2>&1 ||
	    { tail -n 30 "$BATS_FILE_TMPDIR/provider.log" >&2; return 1; }
	PROVIDER_S=$(($(date +%s) - t0))

	# The secret: the URL in a file of uid 10001's, mode 0400.
	SECRET=$BATS_FILE_TMPDIR/secret/hca_url
	mkdir -m 700 "${SECRET%/*}"
	printf '%s\n' "$HCA_URL" >"$SECRET"
	chown 10001 "$SECRET"
	chmod 400 "$SECRET"
	export SECRET

	# Containers are named after this run, so that two runs do not meet.
	C=hca-check-$$
	export C
	start "$C-main" "$HCA_IMAGE" "$C-main"
	start "$C-prov" "$PROVIDER" "$C-prov"

	local size psize
	size=$(ctr image inspect --format '{{.Size}}' "$HCA_IMAGE")
	psize=$(ctr image inspect --format '{{.Size}}' "$PROVIDER")
	printf '# %s: image %s built in %d s (no cache), %d MB; provider image built in %d s, %d MB\n' \
	    "$ENGINE" "$HCA_IMAGE" "$BUILD_S" $((size / 1000000)) \
	    "$PROVIDER_S" $((psize / 1000000)) >&3
}

teardown_file() {
	local n
	if [ -n "${C:-}" ]; then
		for n in $(timeout 60 "$TOP/tools/container" ps -a --format '{{.Names}}' |
		    grep "^$C-"); do
			ctr rm -f -t 0 "$n" >/dev/null 2>&1 || true
		done
		for n in $(timeout 60 "$TOP/tools/container" volume ls --format '{{.Name}}' |
		    grep "^$C-"); do
			ctr volume rm -f "$n" >/dev/null 2>&1 || true
		done
	fi
	[ -z "${PROVIDER:-}" ] || ctr rmi -f "$PROVIDER" >/dev/null 2>&1 || true
	if [ -f "$BATS_FILE_TMPDIR/dangling-before" ]; then
		for n in $(dangling | grep -vxF -f "$BATS_FILE_TMPDIR/dangling-before"); do
			ctr rmi "$n" >/dev/null 2>&1 || true
		done
	fi
	broker_stop
}

setup() {
	HOOKS=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKS"
	HCA_URL=$("$TOP/tools/broker" url "$BROKER_DIR")
	export HCA_URL
}

# ---------------------------------------------------------------------------
# The build

@test "build: the image keeps the Dockerfile's HEALTHCHECK (Docker format)" {
	run ctr image inspect "$HCA_IMAGE"
	assert_success
	run jq -r '.[0] | (.Healthcheck // .Config.Healthcheck).Test | join(" ")' <<<"$output"
	assert_output "CMD-SHELL $(healthcheck_cmd)"
	assert_output --partial 'hca-exec --health'
}

@test "build: creating the user prints no warning (uid 10001 is not a system uid)" {
	run grep -n -i -E 'useradd|groupadd' "$BATS_FILE_TMPDIR/build.log"
	assert_success		# the step ran (no cache)
	run grep -n -i -E '(useradd|groupadd).*warn|warn.*(SYS_UID|SYS_GID|uid|gid)' \
	    "$BATS_FILE_TMPDIR/build.log"
	assert_output ''
	inside "$C-main" 'grep "^hca:" /etc/passwd'
	assert_output --regexp '^hca:x:10001:10001:'
}

# ---------------------------------------------------------------------------
# The agent in its container

@test "run: PID 1 is hca-exec, as uid and gid 10001, with no capabilities" {
	inside "$C-main" 'tr "\0" " " </proc/1/cmdline; echo; grep -E "^(Uid|Gid|Cap(Inh|Prm|Eff|Amb)):" /proc/1/status'
	assert_success
	assert_line --index 0 'hca-exec --declare '
	assert_line --regexp '^Uid:[[:space:]]+10001[[:space:]]+10001[[:space:]]+10001[[:space:]]+10001$'
	assert_line --regexp '^Gid:[[:space:]]+10001[[:space:]]+10001[[:space:]]+10001[[:space:]]+10001$'
	for cap in CapInh CapPrm CapEff CapAmb; do
		assert_line --regexp "^$cap:[[:space:]]+0+\$"
	done
}

@test "run: inspect shows neither the URL nor its password" {
	run ctr inspect "$C-main"
	assert_success
	assert_output --partial HCA_URL_FILE=/run/secrets/hca_url
	refute_output --partial "$HCA_URL"
	refute_output --partial "${HCA_URL#*://}"
	refute_output --regexp 'amqps?://'
}

# The replies of the container and of hca-exec -n on this host, with the
# same sample hooks and correlation id, are the same line.
same_as_offline() {
	local kind=$1 corr=$2 body=$3 got
	got=$output
	mkdir -p "$BATS_TEST_TMPDIR/samples"
	mkdir -p "$BATS_TEST_TMPDIR/offline-hooks"
	cp -R "$TOP/hooks/." "$BATS_TEST_TMPDIR/offline-hooks"
	chmod -R go-w "$BATS_TEST_TMPDIR/offline-hooks"
	run --separate-stderr env SAMPLE_STATE_DIR="$BATS_TEST_TMPDIR/samples" \
	    HCA_PASS_ENV=SAMPLE_STATE_DIR "$HCA_EXEC" -n "$kind" -i "$corr" \
	    -H "$BATS_TEST_TMPDIR/offline-hooks" -l warn <<<"$body"
	assert_equal "$got" "$output"
	output=$got
}

@test "PingV1: the sample hook answers through the broker" {
	ask "$C-main" PingV1 -i "ping-$$" <<<'{}'
	assert_success
	assert_equal "$(jq -r '.type + " " + .correlation_id' <<<"$output")" "PingV1 ping-$$"
	same_as_offline PingV1 "ping-$$" '{}'
}

@test "samples: each example payload gets the reply the sample hooks give" {
	local f corr n=0
	for f in "$TOP"/examples/payloads/*.json; do
		corr=sample-$$-$((n++))
		ask "$C-main" ResourceAllocateV1 -i "$corr" "$f"
		[ "$status" -le 1 ] || fail "no reply to $f (hca-portal exit $status): $stderr"
		echo "$f: $output"
		same_as_offline ResourceAllocateV1 "$corr" "$(cat "$f")"
	done
	[ "$n" -ge 3 ]
	ask "$C-main" ResourceAllocateV1 "$TOP/examples/payloads/chat-team.json"
	assert_success
	assert_equal "$(jq -r .type <<<"$output")" ResourceCreatedV1
	assert_regex "$(jq -r .payload.id <<<"$output")" '^team-[0-9a-f]{16}$'
}

@test "samples: the invalid payload gets ErrorV1 InvalidSpecification" {
	ask "$C-main" ResourceAllocateV1 "$TOP/examples/payloads/chat-team-invalid.json"
	assert_failure 1
	assert_equal "$(jq -r '.type + " " + .payload.type' <<<"$output")" \
	    "ErrorV1 InvalidSpecification"
}

@test "samples: a body that is not JSON gets ErrorV1 InvalidRequest" {
	ask "$C-main" ResourceAllocateV1 -i "bad-$$" <<<'this is not JSON'
	assert_failure 1
	assert_equal "$(jq -r '.type + " " + .payload.type' <<<"$output")" \
	    "ErrorV1 InvalidRequest"
	same_as_offline ResourceAllocateV1 "bad-$$" 'this is not JSON'
}

@test "journal: the reply is journaled in the state volume" {
	local corr=journal-$$ hex dir entry i
	ask "$C-main" ResourceAllocateV1 -i "$corr" "$TOP/examples/payloads/compute.json"
	assert_success
	hex=$(printf %s "$corr" | od -An -tx1 | tr -d ' \n')
	dir=$(ctr volume inspect --format '{{.Mountpoint}}' "$C-main-state")
	run grep -l "\"corr_hex\":\"$hex\"" "$dir"/r-*.json
	assert_success
	assert_equal "${#lines[@]}" 1
	entry=${lines[0]}
	# a header line, then the entry's JSON (src/journal.c)
	run sh -c 'sed -n 2p "$1" | jq -r ".kind + \" \" + .type"' sh "$entry"
	assert_output "ResourceAllocateV1 ResourceCreatedV1"
	# made 0400 once the broker has confirmed the reply
	for ((i = 0; i < 50; i++)); do
		[ "$(stat -c %a "$entry")" = 400 ] && break
		sleep 0.1
	done
	run stat -c '%u %a' "$entry"
	assert_output '10001 400'
	run stat -c '%u %a' "$dir"
	assert_output '10001 750'
}

@test "health: healthy while the daemon consumes" {
	health "$C-main"
	assert_success
	assert_output --regexp "^healthy: consuming from $C-main\\.to_hca for [0-9]+ s; the PingV1 hook answered: "
	if [ "$ENGINE" = podman ]; then
		assert_equal "$HEALTH_ENGINE" 0
		run ctr inspect --format '{{.State.Health.Status}}' "$C-main"
		assert_output healthy
	fi
}

@test "health: unhealthy (1) when the daemon cannot reach its broker past the grace time" {
	local bad=$BATS_TEST_TMPDIR/bad_url port
	# a port nobody listens on: one the kernel gave and took back
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'amqp://guest:guest@127.0.0.1:%s\n' "$port" >"$bad"
	chown 10001 "$bad"
	chmod 400 "$bad"
	ctr run -d --name "$C-nobroker" --network host -e HCA_SERVICE=nobroker \
	    -e HCA_URL_FILE=/run/secrets/hca_url -e HCA_HEALTH_GRACE=1 \
	    -v "$bad:/run/secrets/hca_url:ro" "$HCA_IMAGE" >/dev/null 2>&1
	sleep 3
	health "$C-nobroker"
	assert_failure 1
	assert_output --regexp '^unhealthy: '
	if [ "$ENGINE" = podman ]; then
		assert_equal "$HEALTH_ENGINE" 1
	fi
}

@test "health: healthy with --read-only, /run an empty tmpfs" {
	start "$C-ro" "$HCA_IMAGE" "$C-ro" --read-only
	inside "$C-ro" 'awk "\$2 == \"/run\" { print \$3 }" /proc/mounts'
	echo "/run: $output"
	[ "$ENGINE" != podman ] || assert_output tmpfs
	health "$C-ro"
	assert_success
	assert_output --regexp '^healthy: consuming '
	[ "$ENGINE" != podman ] || assert_equal "$HEALTH_ENGINE" 0
	ask "$C-ro" PingV1 <<<'{}'
	assert_success
}

@test "stop: a hook that runs when the container is stopped finishes, its reply is delivered, exit 0" {
	local reply=$BATS_TEST_TMPDIR/reply pid i t0
	start "$C-stop" "$PROVIDER" "$C-stop"
	HCA_SERVICE=$C-stop timeout -k 5 60 "$HCA_PORTAL" -w 45 -t ResourceAllocateV1 \
	    <<<'{"type":"SlowSpecV1","specification":{"seconds":4}}' >"$reply" 3>&- &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		ctr logs "$C-stop" 2>&1 | grep -q 'running /opt/hca/hooks/ResourceAllocateV1/SlowSpecV1' && break
		sleep 0.1
	done
	t0=$SECONDS
	run ctr stop -t 30 "$C-stop"
	assert_success
	echo "stopped in $((SECONDS - t0)) s"
	[ $((SECONDS - t0)) -lt 30 ]	# not killed at the timeout
	wait "$pid"
	run jq -r '.type + " " + .payload.id' "$reply"
	assert_output "ResourceCreatedV1 slow-4"
	run ctr inspect --format '{{.State.ExitCode}}' "$C-stop"
	assert_output 0
	run ctr logs "$C-stop"
	assert_output --partial 'hook exited 0 after 4'
}

# ---------------------------------------------------------------------------
# A provider's image

@test "provider: built as the header comment says, it keeps the HEALTHCHECK" {
	run provider_dockerfile
	assert_line --index 0 "FROM $HCA_IMAGE"
	assert_line --partial 'COPY --chmod=755 hooks/ /opt/hca/hooks/'
	run ctr image inspect "$PROVIDER"
	run jq -r '.[0] | (.Healthcheck // .Config.Healthcheck).Test | join(" ")' <<<"$output"
	assert_output "CMD-SHELL $(healthcheck_cmd)"
	health "$C-prov"
	assert_success
	assert_output --regexp '^healthy: .* the PingV1 hook answered: curl [0-9]'
	[ "$ENGINE" != podman ] || assert_equal "$HEALTH_ENGINE" 0
}

@test "provider: its own hooks answer, with the package it added; the samples are gone" {
	ask "$C-prov" PingV1 <<<'{}'
	assert_success
	assert_regex "$(jq -r '.type + " " + .payload.message' <<<"$output")" '^PingV1 curl [0-9]+\.'
	ask "$C-prov" ResourceAllocateV1 "$TOP/examples/payloads/chat-team.json"
	assert_failure 1
	assert_equal "$(jq -r .payload.type <<<"$output")" UnsupportedResourceType
	inside "$C-prov" 'stat -c "%U %a %n" /opt/hca/hooks /opt/hca/hooks/PingV1'
	assert_line 'root 755 /opt/hca/hooks/PingV1'
}

@test "orphans: a hook's background child is reaped by PID 1, no zombie is left" {
	local child i
	ask "$C-prov" ResourceAllocateV1 <<<'{"type":"OrphanSpecV1","specification":{"seconds":2}}'
	assert_success
	child=$(jq -r .payload.id <<<"$output")
	assert_regex "$child" '^orphan-[0-9]+$'
	child=${child#orphan-}
	# the hook is gone; its child lives on, a child of PID 1's now
	inside "$C-prov" "awk '{ sub(/.*\\) /, \"\"); print \$1, \$2 }' /proc/$child/stat"
	assert_success
	assert_output 'S 1'
	for ((i = 0; i < 100; i++)); do
		inside "$C-prov" "test -e /proc/$child"
		[ "$status" -ne 0 ] && break
		sleep 0.1
	done
	assert_failure		# the child has ended and been reaped
	inside "$C-prov" 'for f in /proc/[0-9]*/stat; do sed "s/.*) //" "$f" 2>/dev/null; done | awk "\$1 == \"Z\"" | wc -l'
	assert_output 0
}
