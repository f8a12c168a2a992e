#!/usr/bin/env bats
# The broker side going wrong the way operators break brokers: a deleted
# queue, a frozen broker, a listener that never speaks AMQP, a memory alarm.
# The agent must notice, keep its loop's turn, and answer everything once
# the broker is back.  Each test prints its figures.
load lib/common
load lib/broker

setup_file() {
	broker_start -c 'heartbeat = 2'
}

setup() {
	broker_test_setup
	# {"secs": N} sleeps N seconds; {"until": FILE} waits (30 s at most)
	# until FILE exists; anything else answers at once.
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
body=$(cat)
s=$(printf '%s' "$body" | jq -r '.secs // 0')
f=$(printf '%s' "$body" | jq -r '.until // empty')
sleep "$s"
i=0
while [ -n "$f" ] && [ ! -e "$f" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "id-$HCA_CORRELATION_ID"
EOF2
}

teardown() {
	[ -z "${BEAM:-}" ] || kill -CONT "$BEAM" 2>/dev/null || true
	[ -z "${LISTENER:-}" ] || kill "$LISTENER" 2>/dev/null || true
	agent_stop
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
}

# send ID [SECS]: a request to the outbound-queue mode, not waited for.
send() {
	"$HCA_PORTAL" -q -w 0.05 -i "$1" <<<"{\"type\":\"X\",\"secs\":${2:-0}}" >/dev/null 2>&1 || true
}

# replies_in_log N SECONDS: wait until N replies are logged.
replies_in_log() {
	local end=$((SECONDS + $2))
	while [ "$(count_log "$AGENT_LOG" 'msg="reply ')" -lt "$1" ] && [ $SECONDS -lt $end ]; do
		sleep 0.2
	done
	assert_equal "$(count_log "$AGENT_LOG" 'msg="reply ')" "$1"
}

beam_pid() {
	local node
	node=$(cat "$BROKER_DIR/node")
	{ pgrep -f -- "-sname ${node%@*}|-name ${node%@*}|${node}" ||
	    pgrep -f "beam.*$BROKER_DIR"; } | head -n 1
}

# lateness: how long after each hook ended the agent saw it, the largest,
# in ms (the agent logs the run time it measured; the hook slept secs).
lateness() {
	sed -n 's/.*corr=\([^ ]*\) .*msg="hook exited 0 after \([0-9]*\) ms.*/\1 \2/p' "$AGENT_LOG" |
	    while read -r corr ms; do echo $((ms - ${corr##*-} * 1000)); done | sort -n | tail -n 1
}

@test "outage: a deleted inbound queue is noticed, consumed again once it is back, nothing lost" {
	agent_start --declare
	"$HCA_PORTAL" -w 40 -i long-3 <<<'{"type":"X","secs":3}' >"$BATS_TEST_TMPDIR/long" 2>&1 &
	long=$!
	wait_log "$AGENT_LOG" 'corr=long-3 .*msg="running' 10
	clock_start
	amqp-delete-queue --url="$HCA_URL" -q "$HCA_SERVICE.to_hca" >/dev/null
	wait_log "$AGENT_LOG" "cancelled the consumer of queue $HCA_SERVICE.to_hca" 10
	noticed=$(elapsed_ms)
	sleep 2
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_hca" >/dev/null
	for i in 1 2 3 4 5; do
		send "back-$i"
	done
	end=$((SECONDS + 60))
	while [ "$(count_log "$AGENT_LOG" 'corr=back-[1-5] .*msg="reply ')" -lt 5 ] && [ $SECONDS -lt $end ]; do
		sleep 0.2
	done
	answered=$(count_log "$AGENT_LOG" 'corr=back-[1-5] .*msg="reply ')
	wait "$long" || true
	echo "queue deleted: noticed after $noticed ms; $answered of 5 queued afterwards answered in $(( $(elapsed_ms) / 1000 )) s; the running hook's reply: $(jq -r .payload.id "$BATS_TEST_TMPDIR/long")" >&3
	assert_equal "$answered" 5
	run jq -r .payload.id "$BATS_TEST_TMPDIR/long"
	assert_output id-long-3
	assert_equal "$(count_log "$AGENT_LOG" 'cancelled the consumer')" 1
}

@test "outage: a frozen broker holds up neither hooks nor their time of exit" {
	agent_start --declare --heartbeat 2 -c 4
	for s in 6 9 12; do
		send "frozen-$s" "$s"
	done
	for s in 6 9 12; do
		wait_log "$AGENT_LOG" "corr=frozen-$s .*msg=\"running" 10
	done
	BEAM=$(beam_pid)
	assert [ -n "$BEAM" ]
	clock_start
	kill -STOP "$BEAM"
	wait_log "$AGENT_LOG" 'connection lost' 15
	noticed=$(elapsed_ms)
	# The hooks end at 6, 9 and 12 s, while reconnecting fails.
	for s in 6 9 12; do
		wait_log "$AGENT_LOG" "corr=frozen-$s .*msg=\"hook exited" 20
	done
	kill -CONT "$BEAM"
	BEAM=
	replies_in_log 3 60
	late=$(lateness)
	echo "broker frozen: loss noticed after $noticed ms; hooks' exits seen at most $late ms late; 3 of 3 answered after the thaw" >&3
	assert [ "$late" -lt 1000 ]
}

@test "outage: a listener that accepts and never speaks AMQP holds up nothing" {
	python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' >"$BATS_TEST_TMPDIR/port" 3>&- &
	LISTENER=$!
	for _ in $(seq 1 50); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.1
	done
	m=$BATS_TEST_TMPDIR/hca.prom
	HCA_URL=amqp://guest:guest@127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port") \
	    "$HCA_EXEC" -H "$HOOKS" --metrics-file "$m" --metrics-interval 0.2 \
	    >"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	# The loop writes the metrics file at once and then every 0.2 s: the
	# longest time without a write, from the start, is the longest stall.
	gap=$(python3 -c '
import os, sys, time
path, end, last, gap = sys.argv[1], time.time() + 25, time.time(), 0
while time.time() < end:
    try:
        t = os.stat(path).st_mtime
    except OSError:
        t = None
    if t is not None and t != last:
        gap = max(gap, t - last)
        last = t
    time.sleep(0.02)
print(int(max(gap, time.time() - last) * 1000))' "$m")
	attempts=$(count_log "$AGENT_LOG" 'connecting to the broker')
	echo "silent listener: $attempts connect attempts in 25 s, the loop's longest stall $gap ms (metrics written every 200 ms)" >&3
	assert grep -q 'timed out\|timeout' "$AGENT_LOG"
	assert [ "$gap" -lt 1000 ]
}

@test "outage: a memory alarm blocks publishing: said once each way, counted, replies kept in order" {
	m=$BATS_TEST_TMPDIR/hca.prom
	agent_start --declare -c 4 --metrics-file "$m" --metrics-interval 0.2
	# The hooks end one after the other once the alarm is on.
	for s in 1 2 3; do
		"$HCA_PORTAL" -q -w 0.05 -i "alarm-$s" \
		    <<<"{\"type\":\"X\",\"until\":\"$BATS_TEST_TMPDIR/go-$s\"}" >/dev/null 2>&1 || true
	done
	for s in 1 2 3; do
		wait_log "$AGENT_LOG" "corr=alarm-$s .*msg=\"running" 10
	done
	broker_ctl set_vm_memory_high_watermark 0.000001 >/dev/null
	# The broker says "blocked" to a connection that publishes: the
	# first reply, which then waits in the socket.
	touch "$BATS_TEST_TMPDIR/go-1"
	clock_start
	wait_log "$AGENT_LOG" 'the broker blocks publishing' 15
	noticed=$(elapsed_ms)
	for s in 2 3; do
		touch "$BATS_TEST_TMPDIR/go-$s"
		wait_log "$AGENT_LOG" "corr=alarm-$s .*msg=\"hook exited" 10
	done
	sleep 1
	held=$(queue_depth "$HCA_SERVICE.to_portal")
	broker_ctl set_vm_memory_high_watermark 0.4 >/dev/null
	wait_log "$AGENT_LOG" 'the broker unblocked publishing after' 30
	assert_depth "$HCA_SERVICE.to_portal" "3 0" 20
	got=$(for _ in 1 2 3; do amqp-get --url="$HCA_URL" -q "$HCA_SERVICE.to_portal"; echo; done | jq -r .id | tr '\n' ' ')
	echo "memory alarm: blocked seen $noticed ms after the first reply; outbound depth while blocked: $held; replies after: $got" >&3
	assert_equal "$held" "0 0"
	assert_equal "$got" "id-alarm-1 id-alarm-2 id-alarm-3 "
	assert_equal "$(count_log "$AGENT_LOG" 'the broker blocks publishing')" 1
	assert_equal "$(count_log "$AGENT_LOG" 'the broker unblocked publishing')" 1
	for _ in $(seq 1 20); do
		grep -q '^hca_broker_blocked 0' "$m" && break
		sleep 0.1
	done
	assert grep -q '^hca_broker_blocked_total 1$' "$m"
	assert grep -q '^hca_broker_blocked 0$' "$m"
}

@test "outage: too few descriptors for HCA_CONCURRENCY: requests wait for them, none is HookFailed" {
	testtools_build
	# 64 descriptors for 64 hooks at once, which would need about 224.
	m=$BATS_TEST_TMPDIR/hca.prom
	( ulimit -n 64 && exec "$HCA_EXEC" -H "$HOOKS" --declare -c 64 \
	    --metrics-file "$m" --metrics-interval 0.2 ) >>"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$AGENT_LOG" 'msg="consuming' 15
	"$PUBLISH_TOOL" publish "$HCA_URL" "$HCA_SERVICE.to_hca" emfile 200 \
	    '{"type":"X","secs":0.3}'
	replies_in_log 200 120
	ok=$(count_log "$AGENT_LOG" 'msg="reply ResourceCreatedV1')
	errors=$(count_log "$AGENT_LOG" 'msg="reply ErrorV1')
	sleep 0.5
	waited=$(awk '$1 == "hca_hook_starts_deferred_total" { print $2 }' "$m")
	echo "ulimit -n 64, concurrency 64: 200 requests, $ok answered by their hooks, $errors ErrorV1, $waited starts waited for descriptors" >&3
	assert_equal "$ok" 200
	assert_equal "$errors" 0
	assert_equal "$(count_log "$AGENT_LOG" 'RLIMIT_NOFILE is 64, fewer than')" 1
	assert [ "$waited" -gt 0 ]
}
