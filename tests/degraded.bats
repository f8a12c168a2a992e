#!/usr/bin/env bats
# Degraded states that must show: a journal that cannot be written,
# replies the broker could not route, lines that repeat while their cause
# lasts, the broker's consumer timeout.  Each against a real broker, with
# the figures printed.
load lib/common
load lib/broker

setup() {
	broker_test_setup
	answer_id_hook
	METRICS=$BATS_TEST_TMPDIR/hca.prom
}

teardown() {
	agent_stop
	if [ -n "${TMPFS:-}" ]; then
		umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS" || true
	fi
}

# metric 'NAME{LABELS}': its value in the metrics file, 0 if absent.
metric() {
	awk -v m="$1" 'index($0, m " ") == 1 { v = $2 } END { print v + 0 }' "$METRICS"
}

@test "degraded: a reply the broker cannot route is counted apart, not as sent" {
	agent_start --declare --metrics-file "$METRICS" --metrics-interval 0.2
	# Three requests whose reply_to names no queue, two that route.
	for i in 1 2 3; do
		printf '# unroutable\nexpect: unroutable\ncorrelation_id: lost-%s\ntype: ResourceAllocateV1\nreply_to: no-such-queue-%s\nbody: {"type":"X"}\n' "$i" "$i" >"$BATS_TEST_TMPDIR/u$i.case"
	done
	for i in 1 2; do
		printf '# routed\nexpect: ResourceCreatedV1\ncorrelation_id: ok-%s\ntype: ResourceAllocateV1\nbody: {"type":"X"}\n' "$i" >"$BATS_TEST_TMPDIR/r$i.case"
	done
	run timeout 60 "$PUBLISH_TOOL" cases "$HCA_URL" "$HCA_SERVICE.to_hca" \
	    "$HCA_SERVICE.to_portal" "$BATS_TEST_TMPDIR"/u*.case "$BATS_TEST_TMPDIR"/r*.case
	assert_success
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	agent_stop
	sent=$(metric 'hca_replies_total{kind="ResourceAllocateV1",reply="ResourceCreatedV1",error=""}')
	lost=$(metric 'hca_replies_unroutable_total{kind="ResourceAllocateV1"}')
	echo "# 3 unroutable + 2 routed: hca_replies_total $sent, hca_replies_unroutable_total $lost" >&3
	assert_equal "$sent" 2
	assert_equal "$lost" 3
	assert_equal "$(metric 'hca_replies_unroutable_total{kind="PingV1"}')" 0
	assert_equal "$(count_log "$AGENT_LOG" 'could not be routed')" 3
}

# refused FORMAT LEVEL: replies the broker keeps refusing for 12 s, logged
# in FORMAT at LEVEL: the lines about them, then the policy lifted.
refused() {
	broker_ctl set_policy --apply-to queues "refuse-$HCA_SERVICE" \
	    "^$HCA_SERVICE\\.to_portal\$" '{"max-length":0,"overflow":"reject-publish"}' >/dev/null
	agent_start --declare --log-format "$1" -l "$2" \
	    --metrics-file "$METRICS" --metrics-interval 0.2
	for i in 1 2 3 4 5; do
		"$HCA_PORTAL" -q -w 0.05 -i "nack-$i" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	done
	wait_log "$AGENT_LOG" 'refused the reply' 10
	sleep 12
	lines=$(count_log "$AGENT_LOG" 'refused the reply')
	summaries=$(count_log "$AGENT_LOG" 'refused the reply.*more times in the last 1[0-9] s')
	refusals=$(metric hca_replies_refused_total)
	broker_ctl clear_policy "refuse-$HCA_SERVICE" >/dev/null
	assert_depth "$HCA_SERVICE.to_portal" "5 0" 30
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	echo "# $1 at $2: 5 replies refused for 12 s: $lines lines about it, $summaries of them summaries: $(grep 'more times' "$AGENT_LOG" | sed 's/.*\(([0-9]* more times[^)]*)\).*/\1/' | head -n 1)" >&3
	[ "$lines" -le 3 ]
	[ "$summaries" -ge 1 ]
	# every refusal counted: 5 replies, each sent again once a second
	echo "# hca_replies_refused_total $refusals" >&3
	[ "$refusals" -ge 5 ]
}

@test "degraded: a reply the broker keeps refusing is logged once, then once per 10 s with a count (kv, info)" {
	refused kv info
}

@test "degraded: the same holds in JSON at debug level" {
	refused json debug
	# every line is still one JSON object
	run jq -c . "$AGENT_LOG"
	assert_success
}

@test "degraded: the broker's consumer timeout is named in the log, with what to do" {
	# A broker of its own that times unacked deliveries out after 2 s,
	# checking every 0.5 s (RabbitMQ checks once a minute by default).
	dir=$(mktemp -d /tmp/hca-test-broker.XXXXXX)
	"$TOP/tools/broker" start "$dir" -c 'consumer_timeout = 2000' \
	    -a '{channel_tick_interval, 500}' >/dev/null 3>&-
	HCA_URL=$("$TOP/tools/broker" url "$dir")
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 4
echo slow-1
EOF2
	agent_start --declare --metrics-file "$METRICS" --metrics-interval 0.2
	"$HCA_PORTAL" -q -w 0.05 -i slow <<<'{"type":"X"}' >/dev/null 2>&1 || true
	wait_log "$AGENT_LOG" "consumer_timeout passed" 20 || true
	agent_stop
	timeouts=$(metric hca_consumer_timeouts_total)
	"$TOP/tools/broker" stop "$dir" --rm 3>&- || true
	grep -E 'connection lost|consumer_timeout' "$AGENT_LOG" | sed 's/^/# /' >&3
	stderr=$(cat "$AGENT_LOG")
	assert_log "connection lost: .*PRECONDITION_FAILED.*acknowledgement"
	assert_log "the broker's consumer_timeout passed while a request was unacknowledged.*above the 1220 s one request can take here"
	echo "# hca_consumer_timeouts_total $timeouts" >&3
	[ "$timeouts" -ge 1 ]
}

@test "degraded: a start whose worst case of one request exceeds 30 minutes is warned of" {
	agent_start --declare -t 600 --retries 2
	stderr=$(cat "$AGENT_LOG")
	assert_log 'one request can take up to 1815 s \(3 run\(s\)'
	agent_stop
	: >"$AGENT_LOG"
	agent_start --declare -t 300
	stderr=$(cat "$AGENT_LOG")
	refute_log 'one request can take up to'
}

@test "degraded: a journal that cannot be written stops new requests until it can, nothing lost, nothing run twice" {
	TMPFS=$BATS_TEST_TMPDIR/tiny
	mkdir "$TMPFS"
	mount -t tmpfs -o size=64k,mode=755 tmpfs "$TMPFS"
	export MARKS=$BATS_TEST_TMPDIR/runs HCA_PASS_ENV=MARKS
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
cat >/dev/null
echo "$HCA_CORRELATION_ID" >>"$MARKS"
echo "id-$HCA_CORRELATION_ID"
EOF2
	# the status file on the same full disk, as in the container image
	export HCA_STATUS_FILE=$TMPFS/status
	agent_start --declare -c 4 --state-dir "$TMPFS/journal" \
	    --metrics-file "$METRICS" --metrics-interval 0.2
	timeout 60 "$PUBLISH_TOOL" publish "$HCA_URL" "$HCA_SERVICE.to_hca" j 100
	wait_log "$AGENT_LOG" 'cannot be written' 30
	sleep 3
	stuck=$(wc -l <"$MARKS")
	[ "$(metric hca_journal_failing)" -eq 1 ]
	run "$HCA_EXEC" -H "$HOOKS" --health
	assert_failure 1
	assert_output --partial 'the journal cannot be written'
	sleep 2
	# no new request started meanwhile
	assert_equal "$(wc -l <"$MARKS")" "$stuck"
	mount -o remount,size=16m "$TMPFS"
	wait_log "$AGENT_LOG" 'can be written again' 15
	assert_depth "$HCA_SERVICE.to_portal" "100 0" 60
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	"$PUBLISH_TOOL" collect "$HCA_URL" "$HCA_SERVICE.to_portal" >"$BATS_TEST_TMPDIR/replies"
	assert_equal "$(cut -f1 "$BATS_TEST_TMPDIR/replies" | sort -u | wc -l)" 100
	assert_equal "$(grep -c 'ResourceCreatedV1' "$BATS_TEST_TMPDIR/replies")" 100
	runs=$(wc -l <"$MARKS")
	distinct=$(sort -u "$MARKS" | wc -l)
	unjournaled=$(sed -n 's/.*; \([0-9]*\) repl[a-z]* went out without it.*/\1/p' "$AGENT_LOG")
	errors=$(metric hca_journal_errors_total)
	echo "# 100 requests, a 64 KiB state dir: hooks run before it filled: $stuck; replies without the journal: $unjournaled; hca_journal_errors_total $errors; hook runs $runs ($distinct distinct); 100 replies" >&3
	assert_equal "$runs" 100
	assert_equal "$distinct" 100
	[ "$unjournaled" -le 4 ]
	[ "$errors" -ge "$unjournaled" ]
	[ "$(metric hca_journal_failing)" -eq 0 ]
	assert_equal "$(count_log "$AGENT_LOG" 'cannot be written')" 1
	run "$HCA_EXEC" -H "$HOOKS" --health
	assert_success
}

# stderr_capped FORMAT: a hook writes 2.2 MB of ten-byte lines to stderr
# through the broker; what reaches the log of them is 1 MiB, the documented
# cap, give or take the last line (a cap on the bytes read would let about
# ten times that through: each line gains a timestamp, level, ids).
stderr_capped() {
	export HCA_LOG_FORMAT=$1
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
cat >/dev/null
yes shortline | head -n 220000 >&2
echo "id-$HCA_CORRELATION_ID"
EOF2
	agent_start --declare
	portal -w 30 -i noisy <<<'{"type":"X"}'
	assert_success
	assert_output --partial '"id":"id-noisy"'
	agent_stop
	bytes=$(grep -F shortline "$AGENT_LOG" | wc -c)
	lines=$(grep -cF shortline "$AGENT_LOG")
	echo "# $1: 2200000 bytes of stderr in 10-byte lines: $lines lines, $bytes bytes of log (cap 1048576)" >&3
	[ "$bytes" -ge $((1048576 - 300)) ]
	[ "$bytes" -le $((1048576 + 300)) ]
	assert_equal "$(count_log "$AGENT_LOG" 'stderr reached its limit of 1048576 bytes')" 1
}

@test "degraded: a hook's stderr in short lines takes at most the 1 MiB cap of log (kv)" {
	stderr_capped kv
}

@test "degraded: a hook's stderr in short lines takes at most the 1 MiB cap of log (json)" {
	stderr_capped json
}
