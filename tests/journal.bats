#!/usr/bin/env bats
# The journal (HCA_STATE_DIR): replies kept durably before they are
# published, and used to answer a redelivered request without its hook.
load lib/common
load lib/broker

setup_file() {
	broker_start
}

teardown_file() {
	broker_stop
}

setup() {
	broker_test_setup
	STATE=$BATS_TEST_TMPDIR/state
	mkdir -p "$STATE"
	export RUNS=$BATS_TEST_TMPDIR/runs HCA_PASS_ENV=RUNS
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
echo "$HCA_CORRELATION_ID $HCA_REDELIVERED" >> "$RUNS"
echo "id-$HCA_CORRELATION_ID"
EOF2
}

teardown() {
	agent_stop
	[ -z "${BLOCKER:-}" ] || kill -9 "$BLOCKER" 2>/dev/null || true
}

# Put a request with correlation id $1 back into the queue marked
# redelivered: a second agent (no journal, a hook that blocks) takes it
# and is killed with SIGKILL.
requeue_redelivered() {
	local blockhooks=$BATS_TEST_TMPDIR/block
	mkdir -p "$blockhooks/ResourceAllocateV1"
	printf '#!/bin/sh\nsleep 30\n' >"$blockhooks/ResourceAllocateV1/default"
	chmod 755 "$blockhooks" "$blockhooks/ResourceAllocateV1" \
	    "$blockhooks/ResourceAllocateV1/default"
	"$HCA_PORTAL" -q -w 0.05 -i "$1" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	"$HCA_EXEC" -H "$blockhooks" >"$BATS_TEST_TMPDIR/blocker.log" 2>&1 3>&- &
	BLOCKER=$!
	wait_log "$BATS_TEST_TMPDIR/blocker.log" 'msg="running /' 10
	kill -9 "$BLOCKER"
	wait "$BLOCKER" 2>/dev/null || true
	BLOCKER=
}

@test "a reply is journaled durably before it is published" {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i j-1 <<<'{"type":"X"}'
	assert_success
	run cat "$STATE"/r-*.json
	assert_line --index 0 --regexp '^hca-journal 1 [0-9]+ [0-9a-f]{16}$'
	assert_output --partial '"type":"ResourceCreatedV1"'
	assert_output --partial '"body":{"id":"id-j-1"}'
}

@test "a redelivered request with a journaled reply is answered without its hook" {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i j-2 <<<'{"type":"X"}'
	assert_success
	agent_stop
	requeue_redelivered j-2
	AGENT_LOG=$BATS_TEST_TMPDIR/agent2.log
	agent_start --state-dir "$STATE"
	wait_log "$AGENT_LOG" 'answered from the journal' 10
	assert_depth "$HCA_SERVICE.to_portal" "1 0"
	run amqp-get --url="$HCA_URL" -q "$HCA_SERVICE.to_portal"
	assert_output '{"id":"id-j-2"}'
	run cat "$RUNS"
	assert_output "j-2 0"
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
}

@test "without a journaled reply, a redelivered request runs with HCA_REDELIVERED=1" {
	agent_start --declare --state-dir "$STATE"
	agent_stop
	requeue_redelivered j-3
	agent_start --state-dir "$STATE"
	wait_log "$AGENT_LOG" 'reply ResourceCreatedV1' 10
	run cat "$RUNS"
	assert_output "j-3 1"
}

@test "a damaged journal entry is logged and treated as absent" {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i j-4 <<<'{"type":"X"}'
	agent_stop
	f=$(ls "$STATE"/r-*.json)
	head -c 40 "$f" > "$f.cut" && mv "$f.cut" "$f"
	requeue_redelivered j-4
	AGENT_LOG=$BATS_TEST_TMPDIR/agent2.log
	agent_start --state-dir "$STATE"
	wait_log "$AGENT_LOG" 'reply ResourceCreatedV1' 10
	assert grep -q 'truncated or damaged; treated as absent' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output "j-4 0
j-4 1"
}

@test "expired entries and leftover temporary files are removed at start" {
	printf 'x' > "$STATE/r-0000000000000001.json"
	printf 'x' > "$STATE/.tmp-r-0000000000000002.json-1"
	printf 'x' > "$STATE/r-0000000000000003.json"
	touch -d '8 days ago' "$STATE/r-0000000000000001.json" \
	    "$STATE/.tmp-r-0000000000000002.json-1"
	agent_start --declare --state-dir "$STATE"
	assert [ ! -e "$STATE/r-0000000000000001.json" ]
	assert [ ! -e "$STATE/.tmp-r-0000000000000002.json-1" ]
	assert [ -e "$STATE/r-0000000000000003.json" ]
	assert grep -q 'journal: 1 old entries removed' "$AGENT_LOG"
}

@test "the journal keeps at most HCA_JOURNAL_MAX entries, the newest" {
	for i in 1 2 3 4; do
		printf 'x' > "$STATE/r-000000000000000$i.json"
		touch -d "$((10 - i)) hours ago" "$STATE/r-000000000000000$i.json"
	done
	HCA_JOURNAL_MAX=2 agent_start --declare --state-dir "$STATE"
	run ls "$STATE"
	assert_output "r-0000000000000003.json
r-0000000000000004.json"
}
