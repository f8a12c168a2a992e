#!/usr/bin/env bats
# make install and make uninstall (mk/install.mk), the bats kit where it is
# installed, and the container recipe (Dockerfile, .dockerignore), checked
# without a container engine: what it copies exists, what it installs covers
# what the binaries link, its health check works against a daemon of the
# staged install (on a private broker).  `make image-check` (image-check/)
# builds and runs the image itself.
load lib/common
load lib/broker

setup_file() {
	# One staged install for the tests that only look at it.
	make -s -C "$BATS_TEST_DIRNAME/.." install \
	    DESTDIR="$BATS_FILE_TMPDIR/stage" PREFIX=/usr/local >&2
	# A broker for the daemons of the health check's tests.
	broker_start
}

teardown_file() {
	broker_stop
}

teardown() {
	agent_stop
}

setup() {
	common_setup
	STAGE=$BATS_FILE_TMPDIR/stage
	SHARE=$STAGE/usr/local/share/hca-exec
	STATUS=$BATS_TEST_TMPDIR/status
}

# mode FILE: its permission bits in octal
mode() {
	stat -c %a "$1"
}

# dockerfile_stage N: the logical lines (continuations joined, comments
# dropped) of the Dockerfile's Nth stage, counting from 1.
dockerfile_stage() {
	sed -e '/^[[:space:]]*#/d' -e ':a' -e '/\\$/{N;s/\\\n//;ta}' "$TOP/Dockerfile" |
	    awk -v n="$1" 'toupper($1) == "FROM" { s++ } s == n && NF'
}

# copy_sources N [--from]: the sources of stage N's COPY lines, from the
# context, or with --from, from another stage.
copy_sources() {
	dockerfile_stage "$1" | awk -v from="${2:-}" '
	    toupper($1) == "COPY" {
		f = 0; k = 0
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^--from=/) f = 1
			else if ($i !~ /^--/) w[++k] = $i
		}
		if ((from != "") == f) for (i = 1; i < k; i++) print w[i]
	    }'
}

# apt_packages N: the packages that stage N's RUN lines apt-get install.
apt_packages() {
	dockerfile_stage "$1" | awk '
	    toupper($1) == "RUN" {
		on = 0
		for (i = 2; i <= NF; i++) {
			if ($i == "&&" || $i == ";") on = 0
			else if (on && $i !~ /^-/) print $i
			else if ($i == "install" && $(i - 1) == "apt-get") on = 1
		}
	    }'
}

# make_var NAME: the value of the Makefile's variable NAME
make_var() {
	make -s -C "$TOP" --eval "print-var: ; @echo \$($1)" print-var
}

# package_of FILE: the Debian package that has FILE: FILE itself, or with its
# directory resolved (/lib -> /usr/lib), or the file its symbolic links lead to
package_of() {
	local dir
	dir=$(cd "$(dirname "$1")" && pwd -P)
	{ dpkg -S "$1" || dpkg -S "$dir/${1##*/}" || dpkg -S "$(readlink -f "$1")"; } \
	    2>/dev/null | sed -n '1s/[:,].*//p'
}

# ---------------------------------------------------------------------------
# make install, make uninstall

@test "install: hca-exec and hca-portal in BINDIR, mode 755" {
	assert_equal "$(mode "$STAGE/usr/local/bin/hca-exec")" 755
	assert_equal "$(mode "$STAGE/usr/local/bin/hca-portal")" 755
	run "$STAGE/usr/local/bin/hca-exec" -V
	assert_success
}

@test "install: every man page in its section, mode 644" {
	local m n=0
	for m in "$TOP"/man/*.[158]; do
		f=$STAGE/usr/local/share/man/man${m##*.}/${m##*/}
		assert [ -f "$f" ]
		assert_equal "$(mode "$f")" 644
		n=$((n + 1))
	done
	assert [ "$n" -ge 3 ]
	assert [ -f "$STAGE/usr/local/share/man/man5/hca-hooks.5" ]
}

@test "install: the kit in share/hca-exec/hca.bash, mode 644" {
	assert_equal "$(mode "$SHARE/hca.bash")" 644
	run cmp "$TOP/share/hca.bash" "$SHARE/hca.bash"
	assert_success
}

@test "install: the sample hooks in share/hca-exec/hooks, mode 755" {
	run diff -r "$TOP/hooks" "$SHARE/hooks"
	assert_success
	run find "$SHARE/hooks" ! -perm 755
	assert_output ""
}

@test "install: nothing group- or world-writable, even with umask 000" {
	umask 000
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/usr/local
	run find "$BATS_TEST_TMPDIR/d/usr" -perm /022
	assert_output ""
}

@test "install: BINDIR and MANDIR override PREFIX" {
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/opt/hca \
	    BINDIR=/usr/sbin MANDIR=/usr/share/man
	assert [ -x "$BATS_TEST_TMPDIR/d/usr/sbin/hca-exec" ]
	assert [ -f "$BATS_TEST_TMPDIR/d/usr/share/man/man8/hca-exec.8" ]
	assert [ -f "$BATS_TEST_TMPDIR/d/opt/hca/share/hca-exec/hca.bash" ]
}

@test "install: builds first (install depends on all)" {
	run make -n -C "$TOP" install B="$BATS_TEST_TMPDIR/b" DESTDIR="$BATS_TEST_TMPDIR/d"
	assert_success
	assert_output --partial "-o $BATS_TEST_TMPDIR/b/hca-exec"
	assert_output --partial "-o $BATS_TEST_TMPDIR/b/hca-portal"
}

@test "uninstall: removes every file that install put there" {
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/usr/local
	make -s -C "$TOP" uninstall DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/usr/local
	run find "$BATS_TEST_TMPDIR/d" ! -type d
	assert_output ""
	assert [ ! -e "$BATS_TEST_TMPDIR/d/usr/local/share/hca-exec" ]
}

@test "uninstall: leaves files that install did not put there" {
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/usr/local
	touch "$BATS_TEST_TMPDIR/d/usr/local/bin/other" \
	    "$BATS_TEST_TMPDIR/d/usr/local/share/hca-exec/hooks/MyHook"
	make -s -C "$TOP" uninstall DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/usr/local
	run sh -c 'find "$1" ! -type d -printf "%P\n" | sort' - "$BATS_TEST_TMPDIR/d"
	assert_output $'usr/local/bin/other\nusr/local/share/hca-exec/hooks/MyHook'
}

@test "installed man pages: mandoc -Tlint -Wwarning is clean" {
	run mandoc -Tlint -Wwarning "$STAGE"/usr/local/share/man/man?/*
	assert_success
	assert_output ""
}

# ---------------------------------------------------------------------------
# The kit, where it is installed

# The inner test files say $T for @test, which bats would otherwise take for
# tests of this file.
T=@test

# inner_bats FILE: run FILE with bats, with the installed hca-exec only
inner_bats() {
	run env -u HCA_EXEC -u HCA_HOOKS_DIR bats --tap "$1"
}

@test "installed kit: dispatches to the installed hooks with the installed hca-exec" {
	cat > "$BATS_TEST_TMPDIR/t.bats" <<EOF
load '$SHARE/hca'
setup() {
	export HCA_HOOKS_DIR='$SHARE/hooks' SAMPLE_STATE_DIR=\$BATS_TEST_TMPDIR
	export HCA_PASS_ENV=SAMPLE_STATE_DIR
}
$T "kit uses the hca-exec next to it" {
	assert_equal "\$(readlink -f "\$(hca_exec)")" '$STAGE/usr/local/bin/hca-exec'
}
$T "ping" {
	hca_dispatch PingV1 ''
	assert_success
	assert_reply_type PingV1
	assert_reply_field .message 'still alive'
}
$T "allocate" {
	hca_dispatch ResourceAllocateV1 "\$(hca_payload_group ChatTeamSpecV1 urn:x:lab '{"team_name":"Lab"}')" -i 42
	assert_success
	assert_reply_field .id "team-\$(printf 42 | sha256sum | cut -c1-16)"
}
$T "error" {
	hca_dispatch ResourceDeallocateV1 "\$(hca_payload_dealloc nope)"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message --partial 'gave out'
}
EOF
	inner_bats "$BATS_TEST_TMPDIR/t.bats"
	assert_success
	assert_output --partial "1..4"
	refute_output --partial "not ok"
}

@test "installed kit: a wrong reply fails the test, showing the reply and the log" {
	cat > "$BATS_TEST_TMPDIR/t.bats" <<EOF
load '$SHARE/hca'
$T "expects an error, gets a ping" {
	hca_dispatch PingV1 '' -H '$SHARE/hooks' -i ref-7
	assert_error_type ServiceUnavailable
}
EOF
	inner_bats "$BATS_TEST_TMPDIR/t.bats"
	assert_failure
	assert_output --partial "not ok 1"
	assert_output --partial "reply type differs"
	assert_output --partial '"correlation_id":"ref-7"'
	assert_output --partial 'msg="request received'
}

@test "installed kit: the worked example of hca-hooks(5) passes" {
	local dir=$BATS_TEST_TMPDIR/provider
	mkdir -p "$dir/hooks/ResourceAllocateV1" "$dir/tests/bin"
	# The EXAMPLES section's three literal blocks: hook, tests, stand-in.
	awk -v dir="$dir" '
	    /^\.Sh EXAMPLES/ { on = 1; next }
	    /^\.Sh / { on = 0 }
	    on && /^\.Bd -literal/ { n++; f = dir "/" n; next }
	    on && /^\.Ed/ { f = ""; next }
	    f { gsub(/\\e/, "\\"); print > f }
	' "$STAGE/usr/local/share/man/man5/hca-hooks.5"
	install -m 755 "$dir/1" "$dir/hooks/ResourceAllocateV1/ChatTeamSpecV1"
	install -m 644 "$dir/2" "$dir/tests/chat-team.bats"
	install -m 755 "$dir/3" "$dir/tests/bin/chatctl"
	chmod 755 "$dir/hooks"
	run grep -c '^load /usr/local/share/hca-exec/hca$' "$dir/tests/chat-team.bats"
	assert_output 1
	sed -i "s|^load /usr/local/share/hca-exec/hca\$|load '$SHARE/hca'|" \
	    "$dir/tests/chat-team.bats"
	inner_bats "$dir/tests/chat-team.bats"
	assert_success
	assert_output --partial "1..3"
}

# ---------------------------------------------------------------------------
# The container recipe

@test "Dockerfile: two stages, both debian:bookworm-slim" {
	run grep -Ei '^FROM ' "$TOP/Dockerfile"
	assert_output $'FROM debian:bookworm-slim AS build\nFROM debian:bookworm-slim'
}

@test "Dockerfile: every context path it copies exists and .dockerignore lets it through" {
	local src n=0
	assert_equal "$(grep -v '^#' "$TOP/.dockerignore" | head -n 1)" '*'
	for src in $(copy_sources 1) $(copy_sources 2); do
		assert [ -e "$TOP/$src" ]
		run grep -Fx "!${src%/}" "$TOP/.dockerignore"
		assert_success
		n=$((n + 1))
	done
	assert [ "$n" -ge 5 ]
}

@test "Dockerfile: every path it copies from the build stage exists after make install DESTDIR=/out" {
	local src n=0
	for src in $(copy_sources 2 --from); do
		assert_regex "$src" '^/out/'
		assert [ -e "$STAGE/${src#/out/}" ]
		n=$((n + 1))
	done
	assert [ "$n" -ge 2 ]
	assert [ -x "$STAGE/usr/local/bin/hca-exec" ]
}

@test "Dockerfile: the build stage builds and installs from what it copies alone" {
	local ctx=$BATS_TEST_TMPDIR/ctx src cmd
	mkdir -p "$ctx"
	for src in $(copy_sources 1); do
		cp -R "$TOP/${src%/}" "$ctx/"
	done
	rm -rf "$ctx/build"
	# Its RUN line that makes, with /out under the test's directory.
	cmd=$(dockerfile_stage 1 | sed -n 's/^RUN \(make .*\)/\1/p')
	assert [ -n "$cmd" ]
	(cd "$ctx" && sh -c "${cmd//\/out/$ctx/out}") >&2
	for src in $(copy_sources 2 --from); do
		assert [ -e "$ctx/out/${src#/out/}" ]
	done
}

@test "Dockerfile: the build stage installs the -dev package of every library the Makefile links" {
	local apt lib pkg pc
	apt=$(apt_packages 1)
	for lib in $(make_var DEPLIBS); do
		case $lib in -l*) ;; *) continue ;; esac
		pkg=$(package_of "$(cc -print-file-name="lib${lib#-l}.so")")
		assert [ -n "$pkg" ]
		run grep -Fx "$pkg" <<<"$apt"
		assert_success
	done
	for pc in $(make_var PKGS); do
		pkg=$(package_of "$(pkg-config --variable=pcfiledir "$pc")/$pc.pc")
		run grep -Fx "$pkg" <<<"$apt"
		assert_success
	done
}

@test "Dockerfile: the runtime stage installs the package of every library ldd lists" {
	local apt lib pkg n=0
	apt=$(apt_packages 2)
	for lib in $(ldd "$TOP/build/hca-exec" "$TOP/build/hca-portal" |
	    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
		pkg=$(package_of "$lib")
		assert [ -n "$pkg" ]
		# libc6 is in every Debian image: dpkg and the shell need it.
		[ "$pkg" = libc6 ] && continue
		run grep -Fx "$pkg" <<<"$apt"
		assert_success
		n=$((n + 1))
	done
	assert [ "$n" -ge 3 ]
}

@test "Dockerfile: the runtime stage has no -dev package and no compiler" {
	run grep -E -- '-dev$|^(gcc|make|build-essential|pkg-config)$' <<<"$(apt_packages 2)"
	assert_output ""
}

@test "Dockerfile: it runs as a user of its own, hca-exec being PID 1" {
	run dockerfile_stage 2
	assert_line --regexp '^USER [1-9][0-9]*(:[1-9][0-9]*)?$'
	assert_line 'ENTRYPOINT ["hca-exec"]'
	assert_line 'STOPSIGNAL SIGTERM'
	refute_output --partial tini
}

@test "Dockerfile: the hooks go where HCA_HOOKS_DIR says" {
	run dockerfile_stage 2
	assert_line --regexp '^ENV .*HCA_HOOKS_DIR=/opt/hca/hooks( |$)'
	assert_line --regexp '^COPY --from=build [^ ]*/hooks/ /opt/hca/hooks/$'
}

# The health check: the HEALTHCHECK's command, `hca-exec --health`, reads
# the status file of the daemon (HCA_STATUS_FILE, which the image sets) and
# runs the PingV1 hook.  Checked here on the host, against the staged
# install and a daemon of the staged install that consumes from a private
# broker.

# image_env NAME: the value the Dockerfile's runtime stage gives ENV NAME.
image_env() {
	dockerfile_stage 2 | awk -v n="$1" 'toupper($1) == "ENV" {
		for (i = 2; i <= NF; i++)
			if (index($i, n "=") == 1) print substr($i, length(n) + 2) }'
}

# daemon HOOKS: the staged hca-exec as a daemon with HOOKS and the status
# file $STATUS, until the file says it consumes.
daemon() {
	HCA_URL=$("$TOP/tools/broker" url "$BROKER_DIR") \
	    HCA_SERVICE=install-t$BATS_TEST_NUMBER-$RANDOM HCA_STATUS_FILE=$STATUS \
	    "$STAGE/usr/local/bin/hca-exec" --declare -H "$1" \
	    >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$BATS_TEST_TMPDIR/agent.log" 'msg"?[=:]"consuming' 15
	for _ in $(seq 50); do
		[ "$(jq -r .state "$STATUS" 2>/dev/null)" = consuming ] && return 0
		sleep 0.1
	done
	cat "$STATUS" >&2
	return 1
}

# healthcheck HOOKS: run the HEALTHCHECK command as Docker would (sh -c),
# against the staged install, with the image's settings but the status file
# $STATUS, and the daemon's other files (secret, journal, log, metrics) all
# out of reach: the check must not touch them.
healthcheck() {
	local cmd
	cmd=$(dockerfile_stage 2 | sed -n 's/^HEALTHCHECK .* CMD //p')
	run env PATH="$STAGE/usr/local/bin:$PATH" HCA_HOOKS_DIR="$1" \
	    HCA_LOG_FORMAT=json HCA_URL_FILE=/run/secrets/not-there \
	    HCA_STATUS_FILE="$STATUS" \
	    HCA_STATE_DIR=/nonexistent/state HCA_LOG_FILE=/nonexistent/log \
	    HCA_METRICS_FILE=/nonexistent/metrics sh -c "$cmd"
}

@test "Dockerfile: the health check is the daemon's own, hca-exec --health" {
	run dockerfile_stage 2
	assert_line --regexp '^HEALTHCHECK .* CMD +hca-exec --health( |$)'
}

@test "Dockerfile: the status file is in the state directory, which hca owns" {
	local state
	state=$(image_env HCA_STATE_DIR)
	[ -n "$state" ]
	assert_equal "$(dirname "$(image_env HCA_STATUS_FILE)")" "$state"
	run dockerfile_stage 2
	assert_line --regexp "^RUN .*install -d -o hca -g hca -m 7[0-5]0 $state\$"
}

@test "Dockerfile: the health check is healthy (0) with a consuming daemon and a healthy PingV1 hook" {
	daemon "$SHARE/hooks"
	healthcheck "$SHARE/hooks"
	assert_success
	assert_output --regexp '^healthy: consuming from install-t[0-9]+-[0-9]+\.to_hca for [0-9]+ s; the PingV1 hook answered: '
}

@test "Dockerfile: the health check is unhealthy (1) without the daemon's status file" {
	healthcheck "$SHARE/hooks"
	assert_failure 1
	assert_output --partial unhealthy
}

@test "Dockerfile: the health check is unhealthy (1) once the daemon has stopped" {
	daemon "$SHARE/hooks"
	agent_stop
	healthcheck "$SHARE/hooks"
	assert_failure 1
	assert_output --regexp '^unhealthy: .*stopped'
}

@test "Dockerfile: the health check is unhealthy (1) when the PingV1 hook fails" {
	mkhook PingV1 <<'EOF'
#!/bin/sh
echo "the database is down"
exit 69
EOF
	daemon "$HOOKS"
	healthcheck "$HOOKS"
	assert_failure 1
	assert_output --partial "the database is down"
}

@test "Dockerfile: the health check is unhealthy (1), not 2, on a bad setting" {
	daemon "$SHARE/hooks"
	export HCA_MAX_OUTPUT=lots
	healthcheck "$SHARE/hooks"
	assert_failure 1
}
