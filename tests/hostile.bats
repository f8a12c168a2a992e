#!/usr/bin/env bats
# Hooks that misbehave: huge or unread stdin, floods on stdout and stderr,
# SIGTERM ignored, grandchildren that keep the pipes open, crashes.  Each
# must end in a reply within bounded time, and leave nothing running.
load lib/common

A=ResourceAllocateV1

# bigbody FILE BYTES: a JSON request of about BYTES bytes, not only ASCII.
bigbody() {
	{
		printf '{"type":"BigSpecV1","note":"Grüße ☃ \\"q\\" \\\\ \\u00e9","data":"'
		head -c "$2" /dev/zero | tr '\000' x
		printf '"}'
	} > "$1"
}

# --- stdin ------------------------------------------------------------------

@test "hostile: a hook that never reads a 4 MiB stdin still succeeds, no deadlock" {
	export HCA_MAX_MESSAGE=8M HCA_HOOK_TIMEOUT=20
	bigbody "$BATS_TEST_TMPDIR/body" 4194304
	fixture no-read $A/default
	clock_start
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id unread
	assert [ "$(elapsed_ms)" -lt 8000 ]
}

@test "hostile: a hook gets all of a 4 MiB stdin byte for byte (SHA-256 as id)" {
	export HCA_MAX_MESSAGE=8M HCA_HOOK_TIMEOUT=20
	bigbody "$BATS_TEST_TMPDIR/body" 4194304
	fixture stdin-sha256 $A/default
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id "$(sha256sum < "$BATS_TEST_TMPDIR/body" | cut -c1-64)"
}

@test "hostile: the request body reaches the hook unchanged, escapes and all" {
	body='{"type":"X","s":"tab\t nl\n uni\u00e9 ☃ \"q\" \\ /","n":[1,2.50,-0],"o":{}}'
	printf '%s' "$body" > "$BATS_TEST_TMPDIR/body"
	fixture stdin-sha256 $A/default
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id "$(sha256sum < "$BATS_TEST_TMPDIR/body" | cut -c1-64)"
}

@test "hostile: a hook that floods stderr before reading a big stdin does not deadlock" {
	export HCA_MAX_MESSAGE=8M HCA_HOOK_TIMEOUT=20
	bigbody "$BATS_TEST_TMPDIR/body" 4194304
	fixture stderr-then-stdin $A/default
	clock_start
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id "$(sha256sum < "$BATS_TEST_TMPDIR/body" | cut -c1-64)"
	assert [ "$(elapsed_ms)" -lt 10000 ]
}

# --- stdout and stderr floods -------------------------------------------------

@test "hostile: 8 MiB on stdout is HookProtocolError at the default 1 MiB limit, quickly" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stdout $A/default
	clock_start
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookProtocolError
	assert_log 'hook stdout over 1048576 bytes'
	assert [ "$(elapsed_ms)" -lt 8000 ]
}

@test "hostile: 8 MiB on stderr is drained and the hook still succeeds" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stderr $A/default
	clock_start
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id drained
	assert [ "$(elapsed_ms)" -lt 10000 ]
}

@test "hostile: stderr beyond 1 MiB is not logged, and that is said once" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stderr $A/default
	dispatch_body '{}' $A
	assert_success
	run grep -c 'msg="hook: stderr noise' <<<"$stderr"
	# 1 MiB of 40-byte lines (newlines not counted), give or take.
	assert [ "$output" -ge 26000 ]
	assert [ "$output" -le 26500 ]
	run grep -c 'hook stderr over 1048576 bytes; the rest is not logged' <<<"$stderr"
	assert_output 1
}

@test "hostile: a stderr line without newline longer than 4096 bytes is split" {
	mkhook $A/default <<'EOF'
#!/bin/sh
head -c 10000 /dev/zero | tr '\000' z >&2
echo ok
EOF
	dispatch_body '{}' $A
	assert_success
	run grep -c 'msg="hook: zzzz' <<<"$stderr"
	assert_output 3
}

# --- the time limit -----------------------------------------------------------

@test "hostile: a hook that ignores SIGTERM is Timeout after timeout + grace, not later" {
	export HCA_HOOK_TIMEOUT=0.4 HCA_HOOK_GRACE=0.2
	fixture ignore-term $A/default
	clock_start
	dispatch_body '{}' $A -i c-term
	t=$(elapsed_ms)
	assert_failure 1
	assert_reply .payload.type Timeout
	assert [ "$t" -ge 600 ]
	assert [ "$t" -lt 4000 ]
	assert_log 'still running 200 ms after SIGTERM; sending SIGKILL'
}

@test "hostile: a hook that honours SIGTERM ends at the time limit, before the grace is up" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=3
	mkhook $A/default <<'EOF'
#!/bin/sh
exec sleep 30
EOF
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	assert_reply .payload.type Timeout
	assert [ "$t" -ge 300 ]
	assert [ "$t" -lt 2500 ]
	refute_log 'sending SIGKILL'
}

@test "hostile: SIGTERM at the time limit reaches the hook's children too" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=8
	# The shell survives SIGTERM (a trap; its children get the default
	# action) and exits only once its child is gone: if SIGTERM reached
	# the shell alone, the child would live on until SIGKILL, 8 s later.
	mkhook $A/default <<EOF
#!/bin/sh
trap 'echo "shell got SIGTERM" >&2' TERM
sleep 30 &
child=\$!
echo \$child > '$BATS_TEST_TMPDIR/child.pid'
wait \$child	# cut short by the trap
wait \$child	# at once, if the child got SIGTERM too
echo "child gone" >&2
EOF
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	kill_later "$(cat "$BATS_TEST_TMPDIR/child.pid")"
	assert_reply .payload.type Timeout
	assert_log 'msg="hook: child gone"'
	assert [ "$t" -lt 5000 ]
}

@test "hostile: nothing of a timed-out hook's process group is left running" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0.2
	mkhook $A/default <<EOF
#!/bin/sh
trap '' TERM
sh -c 'trap "" TERM; exec sleep 30' &
echo \$! > '$BATS_TEST_TMPDIR/child.pid'
sleep 30
EOF
	dispatch_body '{}' $A
	pid=$(cat "$BATS_TEST_TMPDIR/child.pid")
	kill_later "$pid"
	assert_reply .payload.type Timeout
	run wait_gone "$pid"
	assert_success
}

@test "hostile: a decimal time limit is honoured (HCA_HOOK_TIMEOUT=0.9)" {
	export HCA_HOOK_TIMEOUT=0.9 HCA_HOOK_GRACE=0
	mkhook $A/default <<'EOF'
#!/bin/sh
sleep 0.1
echo quick
EOF
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id quick
}

@test "hostile: HCA_HOOK_GRACE=0 kills at the time limit at once" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0
	fixture ignore-term $A/default
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	assert_reply .payload.type Timeout
	assert [ "$t" -lt 2500 ]
}

# --- grandchildren ------------------------------------------------------------

@test "hostile: a grandchild holding stdout open delays the reply by the grace only" {
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=0.3
	fixture grandchild $A/default
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	kill_later "$(cat "$HOOKS/grandchild.pid")"
	assert_success
	assert_reply .payload.id early-id
	assert [ "$t" -ge 250 ]
	assert [ "$t" -lt 8000 ]
	assert_log 'exited but its process group keeps stdout or stderr open; killing it'
}

@test "hostile: the grandchild holding stdout open is killed, not left running" {
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=0.3
	fixture grandchild $A/default
	dispatch_body '{}' $A
	pid=$(cat "$HOOKS/grandchild.pid")
	kill_later "$pid"
	assert_success
	run wait_gone "$pid"
	assert_success
}

@test "hostile: a grandchild that closed the pipes does not delay the reply" {
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=3
	mkhook $A/default <<EOF
#!/bin/sh
sleep 5 >/dev/null 2>&1 &
echo \$! > '$BATS_TEST_TMPDIR/child.pid'
echo detached
EOF
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	kill_later "$(cat "$BATS_TEST_TMPDIR/child.pid")"
	assert_success
	assert_reply .payload.id detached
	assert [ "$t" -lt 2900 ]
}

@test "hostile: a grandchild that escaped to its own session does not hold up the reply" {
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=0.3
	# setsid takes it out of the hook's process group: the group kill
	# cannot reach it, and the reply must not wait for it either.
	mkhook $A/default <<EOF
#!/bin/sh
setsid sh -c 'echo \$\$ > "$BATS_TEST_TMPDIR/escaped.pid"; exec sleep 30' &
sleep 0.1
echo escaped-id
EOF
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	kill_later "$(cat "$BATS_TEST_TMPDIR/escaped.pid")"
	assert_success
	assert_reply .payload.id escaped-id
	assert [ "$t" -lt 8000 ]
}

# --- crashes, refusals, garbage -----------------------------------------------

@test "hostile: a hook killed by SIGSEGV is HookCrashed" {
	fixture crash-segv $A/default
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookCrashed
}

@test "hostile: a hook killed by SIGKILL is HookCrashed" {
	fixture crash-kill $A/default
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookCrashed
}

@test "hostile: a non-executable hook is not run" {
	markhook "$HOOKS/$A/default"
	chmod 644 "$HOOKS/$A/default"
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "hostile: a world-writable hook is not run" {
	markhook "$HOOKS/$A/default"
	chmod 777 "$HOOKS/$A/default"
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type ConfigurationError
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "hostile: a hook printing two JSON values is HookProtocolError" {
	mkhook $A/default <<'EOF'
#!/bin/sh
echo '{"id":"first"}'
echo '{"id":"second"}'
EOF
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookProtocolError
	refute_output --partial first
}

@test "hostile: a hook that closes stdout early and keeps running is still timed" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0.2
	mkhook $A/default <<'EOF'
#!/bin/sh
exec >&- 2>&-
exec sleep 30
EOF
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	assert_reply .payload.type Timeout
	assert [ "$t" -lt 5000 ]
}

@test "hostile: a crash dump on stderr never appears in the reply" {
	mkhook $A/default <<'EOF'
#!/bin/sh
echo "Traceback: password=hunter2 at /srv/internal/db.py" >&2
exit 1
EOF
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookFailed
	refute_output --partial hunter2
	refute_output --partial Traceback
}
