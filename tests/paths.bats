#!/usr/bin/env bats
# What another user can plant: links where the agent's files go, directories
# it can write above the hooks, the log or the state directory, and swaps of
# them while requests run.  hca-exec must follow no link such a user made,
# refuse paths such a user could redirect, and run no program but the one it
# checked.  The stranger is nobody (uid 65534); these tests run as root.
load lib/common
load lib/broker

A=ResourceAllocateV1

setup() {
	broker_test_setup
	[ "$(id -u)" -eq 0 ] || fail "this suite needs root (CI runs as root)"
	printf '#!/bin/sh\necho "hook stderr: EVIL" >&2\necho ok-1\n' | mkhook $A/default
	# A root-owned file that nobody else may touch.
	VICTIM=$BATS_TEST_TMPDIR/victim
	echo precious > "$VICTIM"
	chmod 600 "$VICTIM"
	# A directory of the stranger's, in /tmp like anyone's.
	STRANGE=$(mktemp -d /tmp/hca-test-strange.XXXXXX)
	chown 65534:65534 "$STRANGE"
	chmod 755 "$STRANGE"
	DUMMY_URL=amqp://guest:guest@127.0.0.1:1
}

teardown() {
	agent_stop
	common_teardown
	rm -rf "$STRANGE"
}

# as_stranger CMD...: run CMD as nobody.
as_stranger() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# --- the log --------------------------------------------------------------------

@test "log: a link the agent's user planted as HCA_LOG_FILE is not followed" {
	# The agent starts as root and becomes nobody; nobody owns the log's
	# directory and points the log at a file of root's.
	as_stranger ln -s "$VICTIM" "$STRANGE/agent.log"
	HCA_USER=nobody HCA_LOG_FILE=$STRANGE/agent.log dispatch_body '{}' $A
	assert_failure 2
	assert_regex "$stderr" "HCA_LOG_FILE=$STRANGE/agent.log: "
	assert_equal "$(cat "$VICTIM")" precious
}

@test "log: a directory others can write (not sticky) is refused, and named" {
	logdir=$BATS_TEST_TMPDIR/open-logs
	mkdir -m 777 "$logdir"
	chmod 777 "$logdir"
	HCA_LOG_FILE=$logdir/agent.log dispatch_body '{}' $A
	assert_failure 2
	assert_regex "$stderr" "HCA_LOG_FILE=$logdir/agent.log: $logdir is writable by group or others"
	assert [ ! -e "$logdir/agent.log" ]
}

@test "log: a file another user left where the log goes (/tmp) is refused" {
	f=$(mktemp /tmp/hca-test-log.XXXXXX)
	chown 65534 "$f"
	HCA_LOG_FILE=$f dispatch_body '{}' $A
	rm -f "$f"
	assert_failure 2
	assert_regex "$stderr" "HCA_LOG_FILE=$f: is not a file of root's or uid 0"
}

@test "log: a FIFO another user left where the log goes (/tmp) is refused" {
	# Held open without being read, it would stop every write of the log.
	f=/tmp/hca-test-fifo.$$
	as_stranger mkfifo -m 622 "$f"
	as_stranger sh -c 'exec 3<>"$1"; exec sleep 30' - "$f" 3>&- &
	holder=$!
	kill_later "$holder"
	for _ in $(seq 1 100); do
		ls -l "/proc/$holder/fd" 2>/dev/null | grep -qF "$f" && break
		sleep 0.05
	done
	run --separate-stderr timeout -k 2 5 "$HCA_EXEC" -n $A -H "$HOOKS" --log-file "$f" <<<'{}'
	kill "$holder"
	rm -f "$f"
	assert_failure 2
	assert_regex "$stderr" "HCA_LOG_FILE=$f: is not a file of root's or uid 0"
}

@test "log: made by the agent's user in its own directory, and written" {
	as_stranger true
	HCA_USER=nobody HCA_LOG_FILE=$STRANGE/agent.log dispatch_body '{}' $A
	# The hook cannot run (nobody cannot reach the test's hooks), but the
	# agent starts and logs as nobody, into a file of nobody's.
	assert [ -f "$STRANGE/agent.log" ]
	assert_equal "$(stat -c %u "$STRANGE/agent.log")" 65534
	assert grep -q 'running as user nobody' "$STRANGE/agent.log"
}

# --- the state directory ---------------------------------------------------------

@test "state: a link planted as HCA_STATE_DIR by the agent's user is not followed" {
	target=$BATS_TEST_TMPDIR/roots-dir
	mkdir -m 700 "$target"
	as_stranger ln -s "$target" "$STRANGE/state"
	HCA_USER=nobody HCA_URL=$DUMMY_URL HCA_SERVICE=t \
	    run --separate-stderr timeout -k 2 5 "$HCA_EXEC" -H "$HOOKS" --state-dir "$STRANGE/state"
	assert_failure 2
	assert_regex "$stderr" "HCA_STATE_DIR=$STRANGE/state: "
	assert_equal "$(stat -c %u "$target")" 0
}

@test "state: a parent another user than root can write is refused, and named" {
	as_stranger mkdir -m 700 "$STRANGE/state"
	HCA_USER=nobody HCA_URL=$DUMMY_URL HCA_SERVICE=t \
	    run --separate-stderr timeout -k 2 5 "$HCA_EXEC" -H "$HOOKS" --state-dir "$STRANGE/state"
	assert_failure 2
	assert_regex "$stderr" "HCA_STATE_DIR=$STRANGE/state: $STRANGE is owned by another user \(uid 65534"
}

@test "state: a state directory others can write is refused" {
	mkdir -m 777 "$BATS_TEST_TMPDIR/state"
	chmod 777 "$BATS_TEST_TMPDIR/state"
	HCA_URL=$DUMMY_URL HCA_SERVICE=t run --separate-stderr timeout -k 2 5 \
	    "$HCA_EXEC" -H "$HOOKS" --state-dir "$BATS_TEST_TMPDIR/state"
	assert_failure 2
	assert_regex "$stderr" 'is writable by group or others'
}

@test "state: a missing HCA_STATE_DIR is made, mode 0700, owned by the agent's user" {
	parent=$(mktemp -d /tmp/hca-test-parent.XXXXXX)
	chmod 755 "$parent"
	HCA_USER=nobody HCA_URL=$DUMMY_URL HCA_SERVICE=t \
	    "$HCA_EXEC" -H "$HOOKS" --state-dir "$parent/state" >"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$AGENT_LOG" 'connecting to the broker' 10
	run stat -c '%u %a %F' "$parent/state"
	rm -rf "$parent"
	assert_output '65534 700 directory'
	assert grep -q "HCA_STATE_DIR $parent/state made" "$AGENT_LOG"
}

# --- metrics and journal temporaries -------------------------------------------------

@test "metrics: a link planted at the old temporary name is never written through" {
	m=$BATS_TEST_TMPDIR/hca.prom
	ln -s "$VICTIM" "$m.tmp"
	HCA_URL=$DUMMY_URL HCA_SERVICE=t "$HCA_EXEC" -H "$HOOKS" \
	    --metrics-file "$m" --metrics-interval 0.2 >"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	for _ in $(seq 1 50); do
		[ -s "$m" ] && break
		sleep 0.1
	done
	assert [ -s "$m" ]
	assert grep -q '^hca_reconnects_total' "$m"
	assert_equal "$(cat "$VICTIM")" precious
}

@test "journal: a link planted at a temporary's name is never written through" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/state"
	agent_start --declare --state-dir "$BATS_TEST_TMPDIR/state"
	# The name the earlier code used: .tmp-r-FNV1A(corr).json-PID
	hash=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' path-j1)
	ln -s "$VICTIM" "$BATS_TEST_TMPDIR/state/.tmp-r-$hash.json-$AGENT_PID"
	portal -w 10 -i path-j1 <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id ok-1
	assert [ -f "$BATS_TEST_TMPDIR/state/r-$hash.json" ]
	assert_equal "$(cat "$VICTIM")" precious
}

# --- hooks ----------------------------------------------------------------------------

@test "hooks: a HOOKS whose parent another user can write is refused at start, and named" {
	mkdir -p "$STRANGE/hooks/$A"
	cp "$HOOKS/$A/default" "$STRANGE/hooks/$A/default"
	chmod 755 "$STRANGE/hooks" "$STRANGE/hooks/$A"
	run --separate-stderr "$HCA_EXEC" -n $A -H "$STRANGE/hooks" <<<'{}'
	assert_failure 2
	assert_regex "$stderr" "HCA_HOOKS_DIR=$STRANGE/hooks: $STRANGE is owned by another user \(uid 65534"
}

@test "hooks: a link the stranger owns on the way to a hook is not followed" {
	mkdir -p "$BATS_TEST_TMPDIR/real/$A"
	printf '#!/bin/sh\necho via-link\n' > "$BATS_TEST_TMPDIR/real/$A/default"
	chmod 755 "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/real/$A" "$BATS_TEST_TMPDIR/real/$A/default"
	rm -rf "${HOOKS:?}/$A"
	ln -s "$BATS_TEST_TMPDIR/real/$A" "$HOOKS/$A"
	chown -h 65534 "$HOOKS/$A"
	dispatch_body '{}' $A -i c-link
	assert_failure 1
	assert_reply .payload.type ConfigurationError
	assert_log 'refused: .* is a symbolic link owned by another user'
	# root's own link is followed.
	chown -h 0 "$HOOKS/$A"
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id via-link
}

# The race of the hardening issue: a stranger who can write a directory
# above HOOKS swaps two trees (renameat2 RENAME_EXCHANGE) as fast as it can
# while requests run, hoping that a hook is checked in the good tree and
# executed from its own.  Bounded: 10 s of swapping.
@test "hooks: swapping the tree above HOOKS while requests run never runs the stranger's hook" {
	cc -D_GNU_SOURCE -o "$BATS_TEST_TMPDIR/swapdirs" "$TOP/tests/fixtures/swapdirs.c"
	race=$(mktemp -d /tmp/hca-test-race.XXXXXX)
	chmod 755 "$race"
	for t in live evil; do
		mkdir -p "$race/$t/hooks/$A"
		chmod 755 "$race/$t" "$race/$t/hooks" "$race/$t/hooks/$A"
	done
	printf '#!/bin/sh\necho "good-$HCA_CORRELATION_ID"\n' > "$race/live/hooks/$A/default"
	printf '#!/bin/sh\necho x >> "%s/evil-ran"\necho "evil-$HCA_CORRELATION_ID"\n' "$race" \
	    > "$race/evil/hooks/$A/default"
	chmod 755 "$race/live/hooks/$A/default" "$race/evil/hooks/$A/default"
	chown -R 65534:65534 "$race/evil"
	agent_start --declare -H "$race/live/hooks" -c 4
	# Now the stranger gets the parent, and swaps.
	chown 65534 "$race"
	as_stranger "$BATS_TEST_TMPDIR/swapdirs" "$race/live" "$race/evil" 10 \
	    >"$BATS_TEST_TMPDIR/swaps" 2>&1 &
	swapper=$!
	n=0
	end=$((SECONDS + 9))
	while [ $SECONDS -lt $end ]; do
		n=$((n + 1))
		"$HCA_PORTAL" -q -w 0.01 -i "race-$n" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	done
	wait "$swapper" || true
	for _ in $(seq 1 300); do
		[ "$(count_log "$AGENT_LOG" 'msg="reply ')" -ge "$n" ] && break
		sleep 0.1
	done
	answered=$(count_log "$AGENT_LOG" 'msg="reply ')
	refused=$(count_log "$AGENT_LOG" 'msg="reply ErrorV1 ConfigurationError')
	evil=$(cat "$race/evil-ran" 2>/dev/null | wc -l)
	echo "requests $n, answered $answered, refused $refused, swaps $(cat "$BATS_TEST_TMPDIR/swaps"), the stranger's hook ran $evil times" >&3
	rm -rf "$race"
	assert_equal "$evil" 0
	assert_equal "$answered" "$n"
}
