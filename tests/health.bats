#!/usr/bin/env bats
# hca-exec --health against a real daemon: the status file the daemon keeps
# (HCA_STATUS_FILE) in each state it can be in, and the PingV1 hook.
load lib/common
load lib/broker

setup() {
	broker_test_setup
	export HCA_STATUS_FILE=$BATS_TEST_TMPDIR/status
	mkhook PingV1/default <<'EOF'
#!/bin/sh
echo "service up"
EOF
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || kill -CONT "$AGENT_PID" 2>/dev/null || true
	agent_stop
}

# health [ENV=VALUE...]: hca-exec --health with this test's hooks.
health() {
	run --separate-stderr env "$@" "$HCA_EXEC" -H "$HOOKS" --health
}

queues() {
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_hca" >/dev/null
	amqp-declare-queue --url="$HCA_URL" -d -q "$HCA_SERVICE.to_portal" >/dev/null
}

# state: the state the status file holds now.
state() {
	jq -r .state "$HCA_STATUS_FILE"
}

# wait_state STATE [SECONDS]
wait_state() {
	local end=$((SECONDS + ${2:-15}))
	while [ "$(state 2>/dev/null)" != "$1" ] && [ $SECONDS -lt $end ]; do
		sleep 0.1
	done
	assert_equal "$(state)" "$1"
}

@test "health: a consuming daemon and a PingV1 hook that succeeds are healthy" {
	agent_start --declare
	wait_state consuming
	health
	echo "$output"
	assert_success
	assert_output --regexp "^healthy: consuming from $HCA_SERVICE\\.to_hca for [0-9]+ s; the PingV1 hook answered: service up\$"
	run jq -r '[.service, .queue, .error, (.owner | split(" ")[1])] | join(",")' "$HCA_STATUS_FILE"
	assert_output "$HCA_SERVICE,$HCA_SERVICE.to_hca,,$AGENT_PID"
	# written atomically, by the daemon's user, readable by a checker
	run stat -c %a "$HCA_STATUS_FILE"
	assert_output 644
	run find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'status.*'
	assert_output ''
}

@test "health: with a kinds file that changes PingV1's reply field, that field is what the hook answered" {
	mkhook PingV1/default <<'EOF'
#!/bin/sh
echo '{"status":"all green"}'
EOF
	printf 'PingV1 PongV1 status optional fine\n' >"$BATS_TEST_TMPDIR/kinds"
	chmod 644 "$BATS_TEST_TMPDIR/kinds"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/kinds agent_start --declare
	wait_state consuming
	health HCA_KINDS_FILE="$BATS_TEST_TMPDIR/kinds"
	assert_success
	assert_output --regexp "^healthy: consuming from $HCA_SERVICE\\.to_hca for [0-9]+ s; the PingV1 hook answered: all green\$"
}

@test "health: the PingV1 hook's error makes a consuming daemon unhealthy" {
	mkhook PingV1/default <<'EOF'
#!/bin/sh
echo "database unreachable"
exit 1
EOF
	agent_start --declare
	wait_state consuming
	health
	assert_failure 1
	assert_output --regexp "^unhealthy: consuming from .* the PingV1 hook answered ErrorV1 [A-Za-z]+: database unreachable\$"
}

@test "health: the PingV1 hook is held to 10 s, whatever HCA_HOOK_TIMEOUT says" {
	mkhook PingV1/default <<'EOF'
#!/bin/sh
sleep 60
EOF
	agent_start --declare
	wait_state consuming
	clock_start
	health HCA_HOOK_TIMEOUT=300
	took=$(elapsed_ms)
	echo "$output; after $took ms"
	assert_failure 1
	assert_output --partial 'answered ErrorV1 Timeout'
	[ "$took" -lt 14000 ]
}

@test "health: reconnecting is healthy within HCA_HEALTH_GRACE and unhealthy past it, with the broker's error" {
	queues
	agent_start
	wait_state consuming
	amqp-delete-queue --url="$HCA_URL" -q "$HCA_SERVICE.to_hca" >/dev/null
	wait_state reconnecting
	wait_log "$AGENT_LOG" 'retrying in' 15
	health
	echo "$output"
	assert_success
	assert_output --regexp "^healthy: reconnecting to the broker for [0-9]+ s, within HCA_HEALTH_GRACE \\(300 s\\); last error: .*$HCA_SERVICE\\.to_hca"
	sleep 2
	health HCA_HEALTH_GRACE=1
	echo "$output"
	assert_failure 1
	assert_output --regexp "^unhealthy: reconnecting to the broker for [0-9]+ s, longer than HCA_HEALTH_GRACE \\(1 s\\); last error: "
	# retries do not restart the grace time
	since=$(jq .since "$HCA_STATUS_FILE")
	wait_log "$AGENT_LOG" 'attempt 3' 30
	assert_equal "$(jq .since "$HCA_STATUS_FILE")" "$since"
	# and once the queue is back, healthy again
	queues
	wait_state consuming 30
	health HCA_HEALTH_GRACE=1
	assert_success
	assert_equal "$(jq -r .error "$HCA_STATUS_FILE")" ''
}

@test "health: a daemon that never reached its broker is healthy only within the grace time, and its secret stays out" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	HCA_URL="amqp://user:s3cr3t-pw@127.0.0.1:$port/" \
	    "$HCA_EXEC" -H "$HOOKS" >>"$AGENT_LOG" 2>&1 3>&- &
	AGENT_PID=$!
	wait_log "$AGENT_LOG" 'retrying in' 15
	assert_equal "$(state)" connecting
	health
	echo "$output"
	assert_success
	assert_output --regexp '^healthy: connecting to the broker for [0-9]+ s, within .*last error: connecting to 127\.0\.0\.1:'"$port"
	sleep 1.5
	health HCA_HEALTH_GRACE=1
	assert_failure 1
	assert_output --partial 'unhealthy: connecting to the broker for'
	refute_output --partial s3cr3t
	run grep -c s3cr3t "$HCA_STATUS_FILE"
	assert_output 0
}

@test "health: a stopped daemon is unhealthy" {
	agent_start --declare
	wait_state consuming
	agent_stop
	assert_equal "$(state)" stopped
	health
	assert_failure 1
	assert_output --regexp '^unhealthy: the daemon is stopped \(for [0-9]+ s\)$'
}

@test "health: a stopping daemon is unhealthy while its hooks finish" {
	mkhook ResourceAllocateV1/default <<'EOF'
#!/bin/sh
sleep 3
echo done-1
EOF
	agent_start --declare
	"$HCA_PORTAL" -q -w 20 -i slow <<<'{"type":"X"}' >/dev/null 2>&1 &
	wait_log "$AGENT_LOG" 'corr=slow .*msg="running' 10
	kill -TERM "$AGENT_PID"
	wait_state stopping 5
	health
	assert_failure 1
	assert_output --partial 'unhealthy: the daemon is stopping'
	wait_state stopped 20
}

@test "health: a daemon killed without a word is found gone" {
	agent_start --declare
	wait_state consuming
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	assert_equal "$(state)" consuming
	health
	assert_failure 1
	assert_output --regexp '^unhealthy: the daemon is gone: process .* [0-9]+ [0-9]+, which was consuming, has ended$'
}

@test "health: a daemon that stops writing its status is stuck, and the file is rewritten every 10 s" {
	agent_start --declare
	wait_state consuming
	first=$(jq .updated "$HCA_STATUS_FILE")
	sleep 11
	[ "$(jq .updated "$HCA_STATUS_FILE")" -gt "$first" ]
	kill -STOP "$AGENT_PID"
	jq -c '.updated -= 31' "$HCA_STATUS_FILE" >"$BATS_TEST_TMPDIR/old"
	mv "$BATS_TEST_TMPDIR/old" "$HCA_STATUS_FILE"
	health
	kill -CONT "$AGENT_PID"
	echo "$output"
	assert_failure 1
	assert_output --regexp '^unhealthy: the daemon has not written its status for 3[0-9] s \(it was consuming\)'
}

@test "health: no status file, or one that is not hca-exec's, is unhealthy; no HCA_STATUS_FILE is a usage error" {
	health
	assert_failure 1
	assert_output --partial "unhealthy: HCA_STATUS_FILE=$HCA_STATUS_FILE: No such file or directory (the daemon has not started"
	echo '{"state":"consuming"}' >"$HCA_STATUS_FILE"
	health
	assert_failure 1
	assert_output "unhealthy: HCA_STATUS_FILE=$HCA_STATUS_FILE is not a status file of hca-exec's"
	ln -sf /etc/passwd "$BATS_TEST_TMPDIR/link"
	health HCA_STATUS_FILE="$BATS_TEST_TMPDIR/link"
	assert_failure 1
	assert_output --partial 'Too many levels of symbolic links'
	run --separate-stderr env -u HCA_STATUS_FILE "$HCA_EXEC" -H "$HOOKS" --health
	assert_failure 2
	[[ $stderr == *'--health needs HCA_STATUS_FILE'* ]]
}

@test "health: the check stays out of the daemon's log, metrics and journal" {
	agent_start --declare -l debug
	wait_state consuming
	before=$(wc -l <"$AGENT_LOG")
	health HCA_LOG_FILE="$AGENT_LOG" HCA_METRICS_FILE="$BATS_TEST_TMPDIR/m.prom" \
	    HCA_STATE_DIR="$BATS_TEST_TMPDIR/state" HCA_LOG_LEVEL=debug
	assert_success
	assert_equal "$(wc -l <"$AGENT_LOG")" "$before"
	[ ! -e "$BATS_TEST_TMPDIR/m.prom" ]
	[ ! -e "$BATS_TEST_TMPDIR/state" ]
}
