# tests/lib/broker.bash: a private RabbitMQ node per test file, and an agent
# per test.  Load after lib/common.  It sets the file up (setup_file,
# teardown_file, setup, teardown at the end of this file: a suite redefines
# what it does differently, e.g. setup_file with broker_start -c LINE).
# Nothing here skips: if the node does not start, every test of the file
# fails.

: "${HCA_PORTAL:=$(dirname "$HCA_EXEC")/hca-portal}"
export HCA_PORTAL

broker_start() {
	BROKER_DIR=$(mktemp -d /tmp/hca-test-broker.XXXXXX)
	export BROKER_DIR
	"$TOP/tools/broker" start "$BROKER_DIR" "$@" >/dev/null 3>&- ||
		return 1
	HCA_URL=$("$TOP/tools/broker" url "$BROKER_DIR")
	export HCA_URL
}

broker_stop() {
	[ -n "${BROKER_DIR:-}" ] && "$TOP/tools/broker" stop "$BROKER_DIR" --rm 3>&-
	return 0
}

broker_ctl() {
	"$TOP/tools/broker" ctl "$BROKER_DIR" "$@" 3>&-
}

# The management API's base URL (http://127.0.0.1:PORT).
broker_api() {
	"$TOP/tools/broker" mgmt "$BROKER_DIR" | sed 's,/#.*,,'
}

# Messages ready and unacknowledged in a queue: "READY UNACKED".
queue_depth() {
	broker_ctl list_queues -q name messages_ready messages_unacknowledged |
	    awk -v q="$1" '$1 == q { print $2, $3 }'
}

# assert_depth QUEUE "READY UNACKED" [SECONDS]: the queue reaches that depth
# within SECONDS (default 10).  An ack follows its reply by a moment, so a
# depth read once right after a reply is a race, not a finding.
assert_depth() {
	local d end=$((SECONDS + ${3:-10}))
	while d=$(queue_depth "$1"); [ "$d" != "$2" ] && [ $SECONDS -lt $end ]; do
		sleep 0.25
	done
	assert_equal "$d" "$2"
}

# Each test talks to its own queues.
broker_test_setup() {
	common_setup
	HCA_URL=$("$TOP/tools/broker" url "$BROKER_DIR")
	export HCA_URL
	export HCA_SERVICE=t$BATS_TEST_NUMBER-$RANDOM
	AGENT_LOG=$BATS_TEST_TMPDIR/agent.log
}

# agent_start [FLAGS...]: start hca-exec in the background, log in
# $AGENT_LOG, and wait until it consumes.
agent_start() {
	local log=${AGENT_LOG_FILE:-$AGENT_LOG}
	"$HCA_EXEC" -H "$HOOKS" "$@" >>"$log" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$log" 'msg"?[=:]"consuming' 15
}

# wait_log FILE PATTERN [SECONDS]: wait until a line matches (grep -E).
wait_log() {
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$2/ in $1:" >&2
	cat "$1" >&2
	return 1
}

# count_log FILE PATTERN
count_log() {
	grep -Ec "$2" "$1" || true
}

# agent_stop [PID]: SIGTERM, and SIGKILL if it has not stopped within 60 s,
# so that an agent that lost its signals fails its test instead of hanging
# the suite.
agent_stop() {
	local pid=${1:-${AGENT_PID:-}} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null
}

# portal [ARGS...]: hca-portal with the test's URL and service.
portal() {
	run --separate-stderr "$HCA_PORTAL" "$@"
}

# The suites' AMQP helper (tests/tools/publish.c, mk/testtools.mk): built
# into build/tools whichever hca-exec is tested; testtools_build makes it
# when it is missing.
: "${PUBLISH_TOOL:=$TOP/build/tools/hca-publish}"
export PUBLISH_TOOL

testtools_build() {
	[ -x "$PUBLISH_TOOL" ] || make -s -C "$TOP" testtools >&2
}

# answer_id_hook: a ResourceAllocateV1 hook that reads its request and
# answers id-CORRELATION_ID.
answer_id_hook() {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
cat >/dev/null
echo "id-$HCA_CORRELATION_ID"
EOF2
}

# The broker suites' set-up, shared: a node for the file (and the test
# tools), per test its own queues and answer_id_hook, the agent stopped
# after each test, the node after the file.  A suite redefines, after
# `load lib/broker`, only what it does differently.
setup_file() {
	broker_start
	testtools_build
}

teardown_file() {
	broker_stop
}

setup() {
	broker_test_setup
	answer_id_hook
}

teardown() {
	agent_stop
}
