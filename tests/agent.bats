#!/usr/bin/env bats
# hca-exec against a real RabbitMQ: one private node for this file, its own
# queues and agent for each test.  The broker's heartbeat is 2 s, so that a
# hook of a few seconds spans several heartbeat intervals.
load lib/common
load lib/broker

setup_file() {
	broker_start -c 'heartbeat = 2'
}

setup() {
	broker_test_setup
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
body=$(cat)
case $body in
*'"fail"'*) echo "no such team"; exit 67 ;;
esac
echo "id-$HCA_CORRELATION_ID"
EOF2
}

teardown() {
	agent_stop
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
}

@test "ping is answered by the agent itself" {
	agent_start --declare
	portal -w 10 ping
	assert_success
	assert_reply .type PingV1
	assert_reply .payload.message "still alive"
}

@test "allocate: success reply carries the request's correlation id" {
	agent_start --declare
	portal -w 10 -i alloc-1 <<<'{"type":"ChatTeamSpecV1"}'
	assert_success
	assert_reply .type ResourceCreatedV1
	assert_reply .correlation_id alloc-1
	assert_reply .payload.id id-alloc-1
}

@test "allocate: a failing hook gives ErrorV1 with its message" {
	agent_start --declare
	portal -w 10 <<<'{"type":"ChatTeamSpecV1","specification":"fail"}'
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .payload.type UnknownTarget
	assert_reply .payload.message "no such team"
}

@test "an unknown kind is answered with UnsupportedMessage and acked" {
	agent_start --declare
	portal -w 10 -t FrobnicateV1 <<<'{}'
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
}

@test "out-queue mode: the reply goes to SERVICE.to_portal when there is no reply_to" {
	agent_start --declare
	portal -q -w 10 -i outq-1 <<<'{"type":"ChatTeamSpecV1"}'
	assert_success
	assert_reply .payload.id id-outq-1
	assert_depth "$HCA_SERVICE.to_portal" "0 0"
}

@test "50 requests at concurrency 8: each reply reaches its own request" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
cat >/dev/null
mkdir -p "$MARKS"; touch "$MARKS/$HCA_CORRELATION_ID"
n=$(ls "$MARKS" | wc -l); echo "$n" >> "$MARKS.peak"
sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 3 ))"
rm -f "$MARKS/$HCA_CORRELATION_ID"
echo "id-$HCA_CORRELATION_ID"
EOF2
	export MARKS=$BATS_TEST_TMPDIR/running HCA_PASS_ENV=MARKS
	agent_start --declare -c 8
	for i in $(seq 1 50); do
		"$HCA_PORTAL" -w 60 -i "req-$i" <<<'{"type":"X"}' \
		    >"$BATS_TEST_TMPDIR/r$i" 2>&1 &
	done
	wait $(jobs -p | grep -v "^$AGENT_PID\$")
	for i in $(seq 1 50); do
		run jq -r '.correlation_id + " " + .payload.id' "$BATS_TEST_TMPDIR/r$i"
		assert_output "req-$i id-req-$i"
	done
	peak=$(sort -n "$MARKS.peak" | tail -n 1)
	echo "peak concurrency: $peak" >&3
	assert [ "$peak" -le 8 ]
	assert [ "$peak" -ge 2 ]
	assert_equal "$(count_log "$AGENT_LOG" 'msg="reply ResourceCreatedV1')" 50
}

@test "a hook running three heartbeat intervals keeps the connection" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 7
echo long-1
EOF2
	agent_start --declare --heartbeat 2
	grep -q 'heartbeat 2 s' "$AGENT_LOG"
	portal -w 20 <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id long-1
	assert_equal "$(count_log "$AGENT_LOG" 'connection lost')" 0
	assert_equal "$(count_log "$AGENT_LOG" 'msg="connected to')" 1
}

@test "broker restarted while hooks run: every request is answered afterwards" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 2
echo "id-$HCA_CORRELATION_ID"
EOF2
	agent_start --declare -c 4
	for i in 1 2 3 4 5 6; do
		"$HCA_PORTAL" -q -w 0.05 -i "rs-$i" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	done
	wait_log "$AGENT_LOG" 'msg="running /' 10
	"$TOP/tools/broker" restart "$BROKER_DIR" 3>&-
	wait_log "$AGENT_LOG" 'connection lost' 10
	# Collect the six replies from the outbound queue.
	got=$BATS_TEST_TMPDIR/got
	: >"$got"
	end=$((SECONDS + 90))
	while [ $SECONDS -lt $end ]; do
		body=$(amqp-get --url="$HCA_URL" -q "$HCA_SERVICE.to_portal" 2>/dev/null) &&
		    echo "$body" >>"$got" && continue
		[ "$(sort -u "$got" | grep -c .)" -ge 6 ] && break
		sleep 0.25
	done
	for i in 1 2 3 4 5 6; do
		assert grep -q "\"id-rs-$i\"" "$got"
	done
	echo "replies: $(grep -c . "$got"), distinct: $(sort -u "$got" | grep -c .), hook runs: $(count_log "$AGENT_LOG" 'msg="running /')" >&3
	# Replies published before the restart may have come first: the
	# reconnect is waited for, not assumed.
	end=$((SECONDS + 60))
	while [ "$(count_log "$AGENT_LOG" 'msg="connected to')" -lt 2 ] && [ $SECONDS -lt $end ]; do
		sleep 0.25
	done
	assert [ "$(count_log "$AGENT_LOG" 'msg="connected to')" -ge 2 ]
}

@test "SIGTERM with hooks running: replies delivered, requests acked, exit 0" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 1.5
echo "id-$HCA_CORRELATION_ID"
EOF2
	agent_start --declare -c 4
	for i in 1 2 3; do
		"$HCA_PORTAL" -w 20 -i "st-$i" <<<'{"type":"X"}' >"$BATS_TEST_TMPDIR/r$i" 2>&1 &
	done
	for _ in $(seq 1 50); do
		[ "$(count_log "$AGENT_LOG" 'msg="running /')" -ge 3 ] && break
		sleep 0.1
	done
	kill -TERM "$AGENT_PID"
	rc=0
	wait "$AGENT_PID" || rc=$?
	assert_equal "$rc" 0
	AGENT_PID=
	wait $(jobs -p)
	for i in 1 2 3; do
		run jq -r .payload.id "$BATS_TEST_TMPDIR/r$i"
		assert_output "id-st-$i"
	done
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	assert grep -q 'msg=stopped' "$AGENT_LOG"
}

@test "two agents on one queue share the work" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 0.3
echo "id-$HCA_CORRELATION_ID"
EOF2
	AGENT_LOG_FILE=$BATS_TEST_TMPDIR/a.log agent_start --declare -c 1 --prefetch 1
	first=$AGENT_PID
	AGENT_LOG_FILE=$BATS_TEST_TMPDIR/b.log agent_start --declare -c 1 --prefetch 1
	for i in $(seq 1 10); do
		"$HCA_PORTAL" -w 30 -i "two-$i" <<<'{"type":"X"}' >"$BATS_TEST_TMPDIR/r$i" 2>&1 &
	done
	wait $(jobs -p | grep -v -e "^$AGENT_PID\$" -e "^$first\$")
	for i in $(seq 1 10); do
		run jq -r .payload.id "$BATS_TEST_TMPDIR/r$i"
		assert_output "id-two-$i"
	done
	a=$(count_log "$BATS_TEST_TMPDIR/a.log" 'msg="reply ')
	b=$(count_log "$BATS_TEST_TMPDIR/b.log" 'msg="reply ')
	echo "agent a: $a, agent b: $b" >&3
	assert_equal $((a + b)) 10
	assert [ "$a" -ge 2 ]
	assert [ "$b" -ge 2 ]
	agent_stop "$first"
}

@test "quorum queues work unchanged (passive check, no --declare)" {
	api=$(broker_api)
	for q in to_hca to_portal; do
		curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' \
		    -d '{"durable":true,"arguments":{"x-queue-type":"quorum"}}' \
		    "$api/api/queues/%2F/$HCA_SERVICE.$q"
	done
	run curl -fsS -u guest:guest "$api/api/queues/%2F/$HCA_SERVICE.to_hca"
	assert_output --partial '"type":"quorum"'
	agent_start
	portal -w 10 -i quorum-1 <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id id-quorum-1
}

@test "a missing queue is named and the agent exits 1" {
	run --separate-stderr "$HCA_EXEC" -H "$HOOKS"
	assert_failure 1
	assert_output --partial ""
	assert_regex "$stderr" "$HCA_SERVICE\\.to_hca.*(NOT_FOUND|it must exist)"
}

@test "a wrong password is a clear error, exit 1, and the password is not shown" {
	HCA_URL=${HCA_URL/guest:guest/guest:Wr0ngPassw0rd} run --separate-stderr "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 1
	assert_regex "$stderr" 'ACCESS_REFUSED|wrong user or password'
	refute_regex "$stderr" 'Wr0ngPassw0rd'
}

@test "a wrong password: hca-portal and hca-publish say what the agent says, without the password" {
	testtools_build
	local url=${HCA_URL/guest:guest/guest:Wr0ngPassw0rd}
	HCA_URL=$url portal -w 5 ping
	assert_failure 2
	assert_regex "$stderr" 'logging in to [^ ]+:[0-9]+ vhost /: .*(ACCESS_REFUSED|wrong user or password)'
	refute_regex "$stderr" 'Wr0ngPassw0rd'
	run --separate-stderr "$PUBLISH_TOOL" depth "$url" "$HCA_SERVICE.to_hca"
	assert_failure 2
	assert_regex "$stderr" 'logging in to [^ ]+:[0-9]+ vhost /: .*(ACCESS_REFUSED|wrong user or password)'
	refute_regex "$stderr" 'Wr0ngPassw0rd'
	HCA_URL=$url run --separate-stderr "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 1
	assert_regex "$stderr" 'logging in to [^ ]+:[0-9]+ vhost /: .*(ACCESS_REFUSED|wrong user or password)'
}

@test "an unknown vhost is a clear error, exit 1" {
	HCA_URL=$HCA_URL/no-such-vhost run --separate-stderr "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 1
	assert_regex "$stderr" 'no-such-vhost'
	assert_regex "$stderr" 'NOT_ALLOWED|vhost'
}

@test "an unreachable broker is retried with growing delays" {
	port=$(( 20000 + RANDOM % 10000 ))
	HCA_URL=amqp://guest:guest@127.0.0.1:$port "$HCA_EXEC" -H "$HOOKS" >"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$AGENT_LOG" 'attempt 3' 10
	kill -0 "$AGENT_PID"
	delays=$(sed -n 's/.*retrying in \([0-9.]*\) s.*/\1/p' "$AGENT_LOG" | head -n 2)
	echo "delays: $delays" >&3
	first=$(head -n 1 <<<"$delays") second=$(tail -n 1 <<<"$delays")
	# awk, not bc: bc is not on a fresh Debian machine (nor in tools/deps).
	assert awk -v a="$first" -v b="$second" 'BEGIN { exit !(b > a) }'

}

@test "a hook's orphaned background process is reaped by the agent" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 3 >/dev/null 2>&1 </dev/null &
echo $! > "$MARKS.pid"
echo orphan-1
EOF2
	export MARKS=$BATS_TEST_TMPDIR/orphan HCA_PASS_ENV=MARKS
	agent_start --declare
	portal -w 10 <<<'{"type":"X"}'
	assert_success
	pid=$(cat "$MARKS.pid")
	# While it lives, the orphan belongs to the agent (child subreaper) ...
	assert_equal "$(ps -o ppid= -p "$pid" | tr -d ' ')" "$AGENT_PID"
	# ... and once it exits it is reaped: a zombie would keep /proc/PID.
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$pid" ] || break
		sleep 0.1
	done
	assert [ ! -e "/proc/$pid" ]
}

# An agent (flags as given) busy with one request whose hook sleeps 30 s.
agent_with_long_hook() {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
sleep 30
EOF2
	agent_start --declare --hook-grace 0.5 "$@"
	"$HCA_PORTAL" -q -w 0.1 <<<'{"type":"X"}' >/dev/null 2>&1 || true
	wait_log "$AGENT_LOG" 'msg="running /' 10
}

# Wait for the agent to exit; it must exit 0 within $1 seconds of $start.
assert_agent_exits_within() {
	local rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	assert_equal "$rc" 0
	assert [ $((SECONDS - start)) -le "$1" ]
}

@test "a second SIGTERM stops at once; the request goes back to the queue" {
	agent_with_long_hook
	kill -TERM "$AGENT_PID"
	wait_log "$AGENT_LOG" 'stopping; waiting' 5
	start=$SECONDS
	kill -TERM "$AGENT_PID"
	assert_agent_exits_within 3
	assert grep -q 'stopping now' "$AGENT_LOG"
	assert_depth "$HCA_SERVICE.to_hca" "1 0"
}

@test "HCA_STOP_TIMEOUT bounds a stop" {
	HCA_STOP_TIMEOUT=1 agent_with_long_hook
	start=$SECONDS
	kill -TERM "$AGENT_PID"
	# 1 s and the hook's grace; without the bound it would be 300 s
	assert_agent_exits_within 8
	assert grep -q 'HCA_STOP_TIMEOUT reached' "$AGENT_LOG"
}

@test "SIGHUP reopens the log file" {
	AGENT_LOG=$BATS_TEST_TMPDIR/file.log
	agent_start --declare --log-file "$AGENT_LOG"
	mv "$AGENT_LOG" "$AGENT_LOG.1"
	kill -HUP "$AGENT_PID"
	for ((i = 0; i < 50; i++)); do
		[ -e "$AGENT_LOG" ] && break
		sleep 0.1
	done
	portal -w 10 -i after-hup ping
	assert_success
	assert grep -q 'corr=after-hup' "$AGENT_LOG"
	refute grep -q 'corr=after-hup' "$AGENT_LOG.1"
}

@test "metrics: counters and the duration histogram in Prometheus text format" {
	m=$BATS_TEST_TMPDIR/hca.prom
	agent_start --declare --metrics-file "$m" --metrics-interval 0.2
	portal -w 10 ping
	portal -w 10 <<<'{"type":"ChatTeamSpecV1"}'
	portal -w 10 <<<'{"type":"ChatTeamSpecV1","x":"fail"}'
	portal -w 10 -t NoSuchKindV1 <<<'{}'
	wait_log "$m" '^hca_replies_total\{kind="other",.*\} 1$' 5
	run cat "$m"
	assert_line 'hca_requests_total{kind="PingV1"} 1'
	assert_line 'hca_requests_total{kind="ResourceAllocateV1"} 2'
	assert_line 'hca_requests_total{kind="other"} 1'
	assert_line 'hca_replies_total{kind="ResourceAllocateV1",reply="ResourceCreatedV1",error=""} 1'
	assert_line 'hca_replies_total{kind="ResourceAllocateV1",reply="ErrorV1",error="UnknownTarget"} 1'
	assert_line 'hca_replies_total{kind="other",reply="ErrorV1",error="UnsupportedMessage"} 1'
	assert_line 'hca_hook_exits_total{kind="ResourceAllocateV1",class="success"} 1'
	assert_line 'hca_hook_exits_total{kind="ResourceAllocateV1",class="failure"} 1'
	assert_line 'hca_hook_duration_seconds_count{kind="ResourceAllocateV1"} 2'
	assert_line 'hca_hook_duration_seconds_bucket{kind="ResourceAllocateV1",le="+Inf"} 2'
	assert_line 'hca_reconnects_total 0'
	# every metric in the file is documented in hca-exec(8), and every
	# one documented there is in the file
	names=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$m" | sort)
	documented=$(sed -n '/^\.Sh METRICS/,/^\.Sh /s/^\.It Li \(hca_[a-z_]*\).*/\1/p' \
	    "$TOP/man/hca-exec.8" | sort -u)
	assert [ "$(wc -l <<<"$names")" -ge 15 ]
	assert_equal "$names" "$documented"
	# written every 0.2 s through a temporary $m.XXXXXX: only after the
	# agent stops is its absence a finding, not a matter of timing
	kill -TERM "$AGENT_PID"
	start=$SECONDS
	assert_agent_exits_within 5
	assert [ -s "$m" ]
	assert_equal "$(ls "$m".* 2>/dev/null)" ""
}

@test "a request without correlation_id is rejected without requeue" {
	agent_start --declare
	amqp-publish --url="$HCA_URL" -r "$HCA_SERVICE.to_hca" -b '{"type":"X"}'
	wait_log "$AGENT_LOG" 'without correlation_id' 10
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	assert_equal "$(count_log "$AGENT_LOG" 'msg="running /')" 0
}

@test "a body that is not JSON is answered with InvalidRequest over the broker" {
	agent_start --declare
	portal -w 10 <<<'{"type": "X", oops'
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert_equal "$(count_log "$AGENT_LOG" 'msg="running /')" 0
}

@test "connections closed by the broker: the agent reconnects and answers" {
	agent_start --declare
	broker_ctl close_all_connections "test: closed by the broker" >/dev/null
	wait_log "$AGENT_LOG" 'connection lost' 10
	wait_log "$AGENT_LOG" 'attempt 1\)' 10
	portal -w 15 -i after-close <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id id-after-close
	assert [ "$(count_log "$AGENT_LOG" 'msg="connected to')" -ge 2 ]
}

@test "the URL's password is not in the log, the command line or the environment" {
	agent_start --declare
	portal -w 10 ping
	assert_success
	pass=${HCA_URL#*://guest:}
	pass=${pass%%@*}
	assert_equal "$pass" guest
	refute grep -q "guest:guest" "$AGENT_LOG"
	refute grep -qa "guest:guest" "/proc/$AGENT_PID/cmdline"
	refute grep -qa "guest:guest" "/proc/$AGENT_PID/environ"
}

@test "hca-portal: no reply in time is exit 2" {
	# No agent: nobody answers.
	broker_ctl list_queues >/dev/null
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_hca" >/dev/null
	start=$SECONDS
	portal -w 1 ping
	assert_failure 2
	assert [ $((SECONDS - start)) -le 6 ]
}

@test "requests queued before the agent starts are answered at once" {
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_hca" >/dev/null
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_portal" >/dev/null
	for i in 1 2 3; do
		"$HCA_PORTAL" -q -w 0.05 -i "early-$i" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	done
	start=$SECONDS
	agent_start --heartbeat 60
	# they run at once and end in any order; held until a heartbeat
	# they would take 30 s
	for i in 1 2 3; do
		wait_log "$AGENT_LOG" "corr=early-$i .*msg=\"reply ResourceCreatedV1" 15
	done
	assert [ $((SECONDS - start)) -le 15 ]
}

@test "a broker that stops answering: heartbeat timeout, reconnect, answers again" {
	agent_start --declare --heartbeat 2
	node=$(cat "$BROKER_DIR/node")
	beam=$(pgrep -f -- "-sname ${node%@*}|-name ${node%@*}|${node}" | head -n 1)
	[ -n "$beam" ] || beam=$(pgrep -f "beam.*$BROKER_DIR" | head -n 1)
	assert [ -n "$beam" ]
	kill -STOP "$beam"
	wait_log "$AGENT_LOG" 'connection lost: .*(heartbeat|timed out|closed)' 15 || { kill -CONT "$beam"; false; }
	kill -CONT "$beam"
	portal -w 20 -i after-freeze <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id id-after-freeze
}

@test "a hook flooding stderr holds up neither other requests nor its own time limit" {
	mkhook ResourceAllocateV1/FloodSpecV1 <<'EOF2'
#!/bin/sh
exec yes ab >&2
EOF2
	agent_start --declare --heartbeat 2 -c 2 -t 4
	"$HCA_PORTAL" -w 30 -i flood-1 <<<'{"type":"FloodSpecV1"}' >"$BATS_TEST_TMPDIR/flood" 2>&1 &
	flood=$!
	wait_log "$AGENT_LOG" 'corr=flood-1 .*msg="running' 10
	clock_start
	portal -w 10 -i quick-1 <<<'{"type":"X"}'
	ms=$(elapsed_ms)
	assert_success
	assert_reply .payload.id id-quick-1
	wait "$flood" || true
	run jq -r .payload.type "$BATS_TEST_TMPDIR/flood"
	assert_output Timeout
	took=$(sed -n 's/.*corr=flood-1 .*msg="hook timed out after \([0-9]*\) ms".*/\1/p' "$AGENT_LOG")
	bytes=$(wc -c < "$AGENT_LOG")
	echo "other request answered in $ms ms; flood stopped after $took ms (limit 4000); log $bytes bytes" >&3
	assert [ "$ms" -lt 2000 ]
	assert [ "$took" -lt 5000 ]
	assert [ "$bytes" -lt $((2 * 1024 * 1024)) ]
	assert_equal "$(count_log "$AGENT_LOG" 'connection lost')" 0
}

@test "started with SIGCHLD and SIGTERM ignored: hooks are seen to end, SIGTERM stops it" {
	# As some supervisors and shells leave them; exec keeps SIG_IGN.
	perl -e '$SIG{CHLD} = $SIG{TERM} = "IGNORE"; exec @ARGV' \
	    "$HCA_EXEC" -H "$HOOKS" --declare >>"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$AGENT_LOG" 'msg="consuming' 15
	portal -w 10 -i ign-1 <<<'{"type":"X"}'
	assert_success
	assert_reply .payload.id id-ign-1
	kill -TERM "$AGENT_PID"
	for _ in $(seq 1 100); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	alive=0
	kill -0 "$AGENT_PID" 2>/dev/null && alive=1 && kill -KILL "$AGENT_PID"
	AGENT_PID=
	assert_equal "$alive" 0
	assert grep -q 'msg=stopped' "$AGENT_LOG"
}

@test "a body over HCA_MAX_MESSAGE is refused from its content header, before it is read" {
	# 64 MiB announced against a limit of 1 MiB: the agent must not hold
	# it (librabbitmq would have buffered all of it, and the agent copied it).
	head -c $((64 * 1024 * 1024)) /dev/zero | tr '\000' x > "$BATS_TEST_TMPDIR/big"
	agent_start --declare --max-message 1M
	portal -w 60 -i big-1 "$BATS_TEST_TMPDIR/big"
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert_reply .payload.message "The request is larger than this service accepts."
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status")
	echo "64 MiB body refused; agent's peak RSS $hwm kB" >&3
	assert [ "$hwm" -lt $((40 * 1024)) ]
	# The connection was kept, and the next request is answered.
	portal -w 10 -i after-big <<<'{"type":"X"}'
	assert_success
	assert_equal "$(count_log "$AGENT_LOG" 'connection lost')" 0
}
