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

@test "hostile hook: a hook that never reads a 4 MiB stdin still succeeds, no deadlock" {
	export HCA_MAX_MESSAGE=8M HCA_HOOK_TIMEOUT=20
	bigbody "$BATS_TEST_TMPDIR/body" 4194304
	fixture no-read $A/default
	clock_start
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id unread
	assert [ "$(elapsed_ms)" -lt 8000 ]
}

@test "hostile hook: a hook gets all of a 4 MiB stdin byte for byte (SHA-256 as id)" {
	export HCA_MAX_MESSAGE=8M HCA_HOOK_TIMEOUT=20
	bigbody "$BATS_TEST_TMPDIR/body" 4194304
	fixture stdin-sha256 $A/default
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id "$(sha256sum < "$BATS_TEST_TMPDIR/body" | cut -c1-64)"
}

@test "hostile hook: the request body reaches the hook unchanged, escapes and all" {
	body='{"type":"X","s":"tab\t nl\n uni\u00e9 ☃ \"q\" \\ /","n":[1,2.50,-0],"o":{}}'
	printf '%s' "$body" > "$BATS_TEST_TMPDIR/body"
	fixture stdin-sha256 $A/default
	dispatch $A < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .payload.id "$(sha256sum < "$BATS_TEST_TMPDIR/body" | cut -c1-64)"
}

@test "hostile hook: a hook that floods stderr before reading a big stdin does not deadlock" {
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

@test "hostile hook: 8 MiB on stdout is HookProtocolError at the default 1 MiB limit, quickly" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stdout $A/default
	clock_start
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookProtocolError
	assert_log 'hook stdout over 1048576 bytes'
	assert [ "$(elapsed_ms)" -lt 8000 ]
}

@test "hostile hook: 8 MiB on stderr is drained and the hook still succeeds" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stderr $A/default
	clock_start
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id drained
	assert [ "$(elapsed_ms)" -lt 10000 ]
}

@test "hostile hook: stderr beyond 1 MiB of log is not logged, and that is said once" {
	export HCA_HOOK_TIMEOUT=20
	fixture flood-stderr $A/default
	dispatch_body '{}' $A
	assert_success
	# The cap is on what reaches the log: 1 MiB of log lines, give or
	# take the last one (about 130 bytes here).
	bytes=$(grep -F 'msg="hook: stderr noise' <<<"$stderr" | wc -c)
	echo "log bytes of stderr lines: $bytes" >&3
	assert [ "$bytes" -ge 1048576 ]
	assert [ "$bytes" -le $((1048576 + 200)) ]
	run grep -c 'hook stderr reached its limit of 1048576 bytes; the rest is not logged' <<<"$stderr"
	assert_output 1
}

# flood_timed 'WRITER': a hook that writes for ever, under a 1 s time limit:
# the reply must be Timeout within a second of the limit, and the log small.
flood_timed() {
	export HCA_HOOK_TIMEOUT=1 HCA_HOOK_GRACE=1
	printf '#!/bin/sh\n%s\n' "$1" | mkhook $A/default
	clock_start
	run --separate-stderr timeout -k 5 30 "$HCA_EXEC" -n $A -H "$HOOKS" <<<'{}'
	ms=$(elapsed_ms)
	bytes=$(printf '%s\n' "$stderr" | wc -c)
	echo "reply after $ms ms (limit 1000), log $bytes bytes" >&3
	assert_failure 1
	assert_reply .payload.type Timeout
	assert [ "$ms" -lt 2000 ]
	assert [ "$bytes" -lt $((1024 * 1024 + 16384)) ]
}

@test "hostile hook: empty lines on stderr as fast as it can: time limit kept, log bounded" {
	flood_timed "exec yes '' >&2"
}

@test "hostile hook: two-byte lines on stderr as fast as it can: time limit kept, log bounded" {
	flood_timed 'exec yes ab >&2'
}

@test "hostile hook: NUL bytes on stderr as fast as it can: time limit kept, log bounded" {
	flood_timed 'exec cat /dev/zero >&2'
}

@test "hostile hook: floods on both pipes, stdout within its limit: time limit kept" {
	export HCA_MAX_OUTPUT=64M
	flood_timed "yes '' >&2 & while :; do echo x; sleep 0.001; done"
}

@test "hostile hook: started with SIGCHLD ignored, the agent still sees the hook end" {
	# An inherited SIG_IGN makes the kernel reap children by itself.
	echo '#!/bin/sh
echo done-1' | mkhook $A/default
	run --separate-stderr timeout -k 5 10 \
	    perl -e '$SIG{CHLD} = "IGNORE"; exec @ARGV' "$HCA_EXEC" -n $A -H "$HOOKS" <<<'{}'
	assert_success
	assert_reply .payload.id done-1
}

@test "hostile hook: a stderr line without newline longer than 4096 bytes is split" {
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

@test "hostile hook: a hook that ignores SIGTERM is Timeout after timeout + grace, not later" {
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

@test "hostile hook: a hook that honours SIGTERM ends at the time limit, before the grace is up" {
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

@test "hostile hook: SIGTERM at the time limit reaches the hook's children too" {
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

@test "hostile hook: nothing of a timed-out hook's process group is left running" {
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

@test "hostile hook: a decimal time limit is honoured (HCA_HOOK_TIMEOUT=0.9)" {
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

@test "hostile hook: HCA_HOOK_GRACE=0 kills at the time limit at once" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0
	fixture ignore-term $A/default
	clock_start
	dispatch_body '{}' $A
	t=$(elapsed_ms)
	assert_reply .payload.type Timeout
	assert [ "$t" -lt 2500 ]
}

# --- grandchildren ------------------------------------------------------------

@test "hostile hook: a grandchild holding stdout open delays the reply by the grace only" {
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

@test "hostile hook: the grandchild holding stdout open is killed, not left running" {
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=0.3
	fixture grandchild $A/default
	dispatch_body '{}' $A
	pid=$(cat "$HOOKS/grandchild.pid")
	kill_later "$pid"
	assert_success
	run wait_gone "$pid"
	assert_success
}

@test "hostile hook: a grandchild that closed the pipes does not delay the reply" {
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

@test "hostile hook: a grandchild that escaped to its own session does not hold up the reply" {
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

@test "hostile hook: the hook's process group number stays its own until the last signal" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (CI runs as root)"
	export HCA_HOOK_TIMEOUT=60 HCA_HOOK_GRACE=3
	# The hook leaves its group empty when it exits: what keeps stdout open
	# escaped to a session of its own.  The agent still sends SIGKILL to
	# the hook's group after the grace.  Were the hook reaped at its exit,
	# its number N would be free: a stranger's process could get pid N,
	# lead a group N, and take that SIGKILL.
	mkhook $A/default <<EOF
#!/bin/sh
echo \$\$ > "$BATS_TEST_TMPDIR/hook.pid"
setsid sh -c 'echo \$\$ > "$BATS_TEST_TMPDIR/escaped.pid"; exec sleep 30' &
sleep 0.1
echo id-1
EOF
	"$HCA_EXEC" -n $A -H "$HOOKS" <<<'{}' >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	agent=$!
	for _ in $(seq 1 50); do
		[ -s "$BATS_TEST_TMPDIR/escaped.pid" ] && break
		sleep 0.1
	done
	kill_later "$(cat "$BATS_TEST_TMPDIR/escaped.pid")"
	n=$(cat "$BATS_TEST_TMPDIR/hook.pid")
	state() { sed 's/.*) \([A-Z]\).*/\1/' "/proc/$n/stat" 2>/dev/null || echo gone; }
	for _ in $(seq 1 50); do
		case $(state) in Z | gone) break ;; esac
		sleep 0.05
	done
	sleep 0.3
	held=$(state)
	# Now try to take number N for a process leading its own group.
	victims=
	for _ in 1 2 3 4 5; do
		echo $((n - 1)) > /proc/sys/kernel/ns_last_pid
		setsid sleep 30 &
		v=$!
		kill_later "$v"
		victims="$victims $v"
		[ "$v" = "$n" ] && break
	done
	wait "$agent"
	echo "hook pid $n, after its exit: $held; tried to take it:$victims" >&3
	assert_equal "$held" Z
	for v in $victims; do
		assert kill -0 "$v"
	done
	run jq -r .payload.id "$BATS_TEST_TMPDIR/out"
	assert_output id-1
}

# --- crashes, refusals, garbage -----------------------------------------------

@test "hostile hook: a hook killed by SIGSEGV is HookCrashed" {
	fixture crash-segv $A/default
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookCrashed
}

@test "hostile hook: a hook killed by SIGKILL is HookCrashed" {
	fixture crash-kill $A/default
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type HookCrashed
}

@test "hostile hook: a non-executable hook is not run" {
	markhook "$HOOKS/$A/default"
	chmod 644 "$HOOKS/$A/default"
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "hostile hook: a world-writable hook is not run" {
	markhook "$HOOKS/$A/default"
	chmod 777 "$HOOKS/$A/default"
	dispatch_body '{}' $A
	assert_failure 1
	assert_reply .payload.type ConfigurationError
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "hostile hook: a hook printing two JSON values is HookProtocolError" {
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

@test "hostile hook: a hook that closes stdout early and keeps running is still timed" {
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

@test "hostile hook: a crash dump on stderr never appears in the reply" {
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
