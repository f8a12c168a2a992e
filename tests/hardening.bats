#!/usr/bin/env bats
# Privileges and limits: HCA_USER, and the resource limits of hooks.
load lib/common

setup() {
	common_setup
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/bash
echo "$(id -un) $(id -u) $HOME as=$(ulimit -v) cpu=$(ulimit -t) nofile=$(ulimit -n) nproc=$(ulimit -u) core=$(ulimit -c)" >&2
echo ok-1
EOF2
}

@test "HCA_USER: started as root, hooks run as that user with its home" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (CI runs as root)"
	# nobody must be able to reach the hooks.
	open=$(mktemp -d /tmp/hca-test-open.XXXXXX)
	chmod 755 "$open"
	cp -R "$HOOKS" "$open/hooks"
	HOOKS=$open/hooks
	HCA_USER=nobody dispatch_body '{}' ResourceAllocateV1
	rm -rf "$open"
	assert_success
	assert_regex "$stderr" "hook: nobody 65534 $(getent passwd nobody | cut -d: -f6) "
	assert_regex "$stderr" 'running as user nobody \(uid 65534'
}

@test "HCA_USER naming no user is a configuration error" {
	HCA_USER=no-such-user-hca dispatch_body '{}' ResourceAllocateV1
	assert_failure 2
	assert_regex "$stderr" 'HCA_USER=no-such-user-hca: no such user'
}

@test "hooks get no core dumps by default" {
	dispatch_body '{}' ResourceAllocateV1
	assert_success
	assert_regex "$stderr" 'core=0"'
}

@test "HCA_HOOK_RLIMIT_*: address space, CPU, files, processes and cores" {
	HCA_HOOK_RLIMIT_AS=512M HCA_HOOK_RLIMIT_CPU=7 HCA_HOOK_RLIMIT_NOFILE=64 \
	    HCA_HOOK_RLIMIT_NPROC=300 HCA_HOOK_RLIMIT_CORE=unlimited \
	    dispatch_body '{}' ResourceAllocateV1
	assert_success
	assert_regex "$stderr" 'as=524288 cpu=7 nofile=64 nproc=300 core=unlimited'
}

@test "a hook over its CPU limit is killed and reported as crashed" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
while :; do :; done
EOF2
	HCA_HOOK_RLIMIT_CPU=1 dispatch_body '{}' ResourceAllocateV1 -t 60
	assert_failure 1
	assert_reply .payload.type HookCrashed
}

@test "a malformed limit is a configuration error naming the variable" {
	HCA_HOOK_RLIMIT_NOFILE=lots dispatch_body '{}' ResourceAllocateV1
	assert_failure 2
	assert_regex "$stderr" 'HCA_HOOK_RLIMIT_NOFILE=lots'
}

@test "a hook running as the agent's user cannot read the agent's memory or environment" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (CI runs as root)"
	open=$(mktemp -d /tmp/hca-test-open.XXXXXX)
	chmod 755 "$open"
	mkdir -p "$open/hooks/ResourceAllocateV1"
	cat >"$open/hooks/ResourceAllocateV1/default" <<'EOF2'
#!/bin/sh
if cat "/proc/$PPID/environ" >/dev/null 2>&1 || head -c 1 "/proc/$PPID/mem" >/dev/null 2>&1; then
	echo readable
else
	echo closed
fi
EOF2
	chmod -R 755 "$open/hooks"
	# Started as nobody (not switched to it, which the kernel marks
	# undumpable by itself): only the agent's own prctl protects it.
	cp "$HCA_EXEC" "$open/hca-exec"	# wherever the checkout is, nobody can run this
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$open/hca-exec" -n ResourceAllocateV1 -H "$open/hooks" <<<'{}'
	rm -rf "$open"
	assert_success
	assert_reply .payload.id closed
}

@test "HCA_USER: a URL file that hooks' user can read is warned about; a root-only one is not" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (CI runs as root)"
	# In a directory nobody can reach, as /etc or /run/secrets are.
	dir=$(mktemp -d /tmp/hca-test-url.XXXXXX)
	chmod 755 "$dir"
	url=$dir/url
	echo amqp://guest:S3cret@127.0.0.1:1 > "$url"
	log=$BATS_TEST_TMPDIR/agent.log
	for mode in 644 600; do
		chmod $mode "$url"
		: > "$log"
		HCA_USER=nobody HCA_URL_FILE=$url HCA_SERVICE=t \
		    "$HCA_EXEC" -H "$HOOKS" >"$log" 2>&1 3>&- &
		pid=$!
		for _ in $(seq 1 50); do
			grep -q 'connecting to the broker' "$log" && break
			sleep 0.1
		done
		kill -TERM $pid
		wait $pid || true
		cp "$log" "$log.$mode"
	done
	rm -rf "$dir"
	run grep "HCA_URL_FILE=$url can be read by uid 65534, which hooks run as" "$log.644"
	assert_success
	run grep 'can be read by' "$log.600"
	assert_failure
	run grep -c S3cret "$log.644" "$log.600"
	assert_output "$log.644:0
$log.600:0"
}
