#!/usr/bin/env bats
# The journal (HCA_STATE_DIR): replies kept durably before they are
# published, and used to answer a redelivered request without its hook.
load lib/common
load lib/broker

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

# Put a request with correlation id $1 (of kind $2, default
# ResourceAllocateV1) back into the queue marked redelivered: a second
# agent (no journal, a hook that blocks) takes it and is killed with SIGKILL.
requeue_redelivered() {
	local blockhooks=$BATS_TEST_TMPDIR/block kind=${2:-ResourceAllocateV1}
	mkdir -p "$blockhooks/$kind"
	printf '#!/bin/sh\nsleep 30\n' >"$blockhooks/$kind/default"
	chmod 755 "$blockhooks" "$blockhooks/$kind" "$blockhooks/$kind/default"
	"$HCA_PORTAL" -q -w 0.05 -t "$kind" -i "$1" <<<'{"type":"X"}' >/dev/null 2>&1 || true
	"$HCA_EXEC" -H "$blockhooks" >"$BATS_TEST_TMPDIR/blocker.log" 2>&1 3>&- &
	BLOCKER=$!
	wait_log "$BATS_TEST_TMPDIR/blocker.log" 'msg="running /' 10
	kill -9 "$BLOCKER"
	wait "$BLOCKER" 2>/dev/null || true
	BLOCKER=
}

# The FNV-1a hash in the name of the claim file of correlation id $1.
claim_hash() {
	python3 -c '
import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$1"
}

@test "a reply is journaled durably before it is published" {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i j-1 <<<'{"type":"X"}'
	assert_success
	run cat "$STATE"/r-*.json
	assert_line --index 0 --regexp '^hca-journal 2 [0-9]+ [0-9a-f]{16}$'
	assert_output --partial '"kind":"ResourceAllocateV1","type":"ResourceCreatedV1"'
	assert_output --partial '"body":{"id":"id-j-1"}'
}

@test "a redelivered request with a journaled reply is answered without its hook" {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i j-2 <<<'{"type":"X"}'
	assert_success
	agent_stop
	# As if the agent had died before the broker's confirm (a confirmed
	# reply is not sent again: see below).
	chmod 600 "$STATE"/r-*.json
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

# seal_entry FILE: write FILE.line (an entry's JSON line) into FILE with a
# header (length, FNV-1a) that fits, as a stranger or a bug could have.
seal_entry() {
	python3 - "$1" "${JOURNAL_FORMAT:-2}" <<'PY'
import sys
p, version = sys.argv[1], sys.argv[2]
line = open(p + ".line", "rb").read()
h = 0xcbf29ce484222325
for b in line:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
header = "hca-journal %s %d %016x\n" % (version, len(line), h)
open(p, "wb").write(header.encode() + line)
PY
	rm -f "$1.line"
}

# rewrite_entry FILE JQ-FILTER: apply the filter to an entry's JSON line.
rewrite_entry() {
	jq -c "$2" < <(tail -n 1 "$1") > "$1.line"
	seal_entry "$1"
}

# journal_one ID: an agent with the journal answers request ID and stops;
# ENTRY is the entry it wrote.
journal_one() {
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -i "$1" <<<'{"type":"X"}'
	assert_success
	agent_stop
	ENTRY=$(ls "$STATE"/r-*.json)
}

# redeliver ID [KIND]: ID comes back redelivered (as KIND) to a second agent
# with the same journal, logging to AGENT_LOG (agent2.log).
redeliver() {
	requeue_redelivered "$@"
	AGENT_LOG=$BATS_TEST_TMPDIR/agent2.log
	agent_start --state-dir "$STATE"
}

@test "a journal entry whose type does not fit its kind is not sent: the hook runs" {
	journal_one j-7
	# 300 bytes: no AMQP short string can carry it.
	rewrite_entry "$ENTRY" ".type = \"$(printf 'T%.0s' {1..300})\""
	redeliver j-7
	wait_log "$AGENT_LOG" 'corr=j-7 .*msg="reply ResourceCreatedV1' 10
	assert grep -q 'of a reply type its kind does not have; treated as absent' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output "j-7 0
j-7 1"
	assert_equal "$(count_log "$AGENT_LOG" 'connection lost')" 0
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
}

@test "a journal entry answers only a redelivery of the same kind" {
	mkhook ResourceDeallocateV1/default <<'EOF2'
#!/bin/sh
echo "dealloc $HCA_CORRELATION_ID $HCA_REDELIVERED" >> "$RUNS"
echo "gone-$HCA_CORRELATION_ID"
EOF2
	journal_one j-8
	# The same correlation id comes back as another kind of request.
	redeliver j-8 ResourceDeallocateV1
	wait_log "$AGENT_LOG" 'corr=j-8 .*msg="reply ResourceDeallocatedV1' 10
	assert grep -q 'is for a ResourceAllocateV1 request, not ResourceDeallocateV1; not used' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output "j-8 0
dealloc j-8 1"
	run amqp-get --url="$HCA_URL" -q "$HCA_SERVICE.to_portal"
	assert_output '{"id":"gone-j-8"}'
}

@test "a journal entry with two JSON documents parted by 0x1e is damaged, not used" {
	journal_one j-9
	rewrite_entry "$ENTRY" '.body.id = "planted"'
	# jq would read the second document; libjq only the first.
	line=$(tail -n 1 "$ENTRY")
	printf '%s\036{"body":{"id":"other"}}\n' "$line" > "$ENTRY.line"
	seal_entry "$ENTRY"
	redeliver j-9
	wait_log "$AGENT_LOG" 'corr=j-9 .*msg="reply ResourceCreatedV1' 10
	assert grep -q 'is not a JSON object; treated as absent' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output "j-9 0
j-9 1"
}

@test "an entry of format 1 (no kind) is not used: the hook runs again" {
	journal_one j-10
	sed -i '1s/^hca-journal 2 /hca-journal 1 /' "$ENTRY"
	redeliver j-10
	wait_log "$AGENT_LOG" 'corr=j-10 .*msg="reply ResourceCreatedV1' 10
	assert grep -q 'is of another format version; not used' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output "j-10 0
j-10 1"
}

@test "a redelivery whose journaled reply was confirmed is acked without sending it again" {
	journal_one j-11
	# The first agent had the broker's confirm: the entry says so.
	assert_equal "$(stat -c %a "$ENTRY")" 400
	redeliver j-11
	wait_log "$AGENT_LOG" 'corr=j-11 .*confirmed already \(journal\); acked without sending it again' 10
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	assert_depth "$HCA_SERVICE.to_portal" "0 0"
	run cat "$RUNS"
	assert_output "j-11 0"
}

@test "a journaled reply whose confirm had not come is sent again on redelivery" {
	journal_one j-12
	chmod 600 "$ENTRY"	# as if the agent died before the confirm
	redeliver j-12
	wait_log "$AGENT_LOG" 'corr=j-12 .*answered from the journal' 10
	assert_depth "$HCA_SERVICE.to_portal" "1 0"
	run cat "$RUNS"
	assert_output "j-12 0"
}

@test "a reply journaled under HCA_TYPE_FROM=body:FIELD is kept without its kind, and sent again in the form of the agent that sends it" {
	testtools_build
	export HCA_TYPE_FROM=body:kind
	agent_start --declare --state-dir "$STATE"
	portal -w 10 -t ResourceAllocateV1 -i j-40 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"j-40","payload":{"id":"id-j-40","kind":"ResourceCreatedV1"}}'
	agent_stop
	ENTRY=$(ls "$STATE"/r-*.json)
	run jq -c .body < <(tail -n 1 "$ENTRY")
	assert_output '{"id":"id-j-40"}'
	chmod 600 "$ENTRY"	# as if the agent died before the confirm
	unset HCA_TYPE_FROM
	redeliver j-40
	wait_log "$AGENT_LOG" 'corr=j-40 .*answered from the journal' 10
	run "$PUBLISH_TOOL" collect "$HCA_URL" "$HCA_SERVICE.to_portal"
	assert_output "$(printf 'j-40\tResourceCreatedV1\t{"id":"id-j-40"}')"
}

# --- several agents, one state directory ------------------------------------------

@test "two agents, one state directory: a redelivery to B while A still runs the hook waits for A's reply" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
echo "$HCA_CORRELATION_ID $HCA_REDELIVERED $PPID" >> "$RUNS"
sleep 6
echo "id-$HCA_CORRELATION_ID"
EOF2
	AGENT_LOG=$BATS_TEST_TMPDIR/a.log
	agent_start --declare --state-dir "$STATE" --heartbeat 2
	a=$AGENT_PID
	AGENT_LOG=$BATS_TEST_TMPDIR/b.log
	agent_start --state-dir "$STATE" --heartbeat 2
	b=$AGENT_PID
	"$HCA_PORTAL" -w 40 -i shared-1 <<<'{"type":"X"}' >"$BATS_TEST_TMPDIR/reply" 2>&1 &
	portal_pid=$!
	for _ in $(seq 1 50); do
		[ -s "$RUNS" ] && break
		sleep 0.1
	done
	first=$(awk '{ print $3 }' "$RUNS")
	# Freeze whichever agent runs it: its connection dies of the missed
	# heartbeats, and the broker gives the request to the other one.
	kill -STOP "$first"
	if [ "$first" = "$a" ]; then other=$BATS_TEST_TMPDIR/b.log; else other=$BATS_TEST_TMPDIR/a.log; fi
	wait_log "$other" 'corr=shared-1 .*another agent runs this request.s hook' 15 ||
	    { kill -CONT "$first"; false; }
	kill -CONT "$first"
	wait "$portal_pid" || true
	wait_log "$other" 'corr=shared-1 .*(answered from the journal|confirmed already)' 20
	echo "held by the other agent, answered from the journal; hook runs: $(wc -l < "$RUNS")" >&3
	run jq -r .payload.id "$BATS_TEST_TMPDIR/reply"
	assert_output id-shared-1
	run wc -l < "$RUNS"
	assert_output 1
	assert_depth "$HCA_SERVICE.to_hca" "0 0" 20
	agent_stop "$a"
	agent_stop "$b"
	AGENT_PID=
}

@test "two agents, one state directory: a claim whose agent is gone is taken over" {
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
echo "$HCA_CORRELATION_ID $HCA_REDELIVERED $PPID" >> "$RUNS"
echo "id-$HCA_CORRELATION_ID"
EOF2
	agent_start --declare --state-dir "$STATE"
	agent_stop
	# The claim an agent left when it was killed while its hook ran.
	hash=$(claim_hash gone-1)
	printf 'hca-claim 1 %s/%s 999999999 1\n' "$(hostname)" "$(stat -L -c %i /proc/self/ns/pid)" > "$STATE/c-$hash.claim"
	requeue_redelivered gone-1
	agent_start --state-dir "$STATE"
	wait_log "$AGENT_LOG" 'corr=gone-1 .*msg="reply ResourceCreatedV1' 10
	assert grep -q 'claim .* of an agent that is gone is taken over' "$AGENT_LOG"
	run cat "$RUNS"
	assert_output --regexp '^gone-1 1 '
	assert [ ! -e "$STATE/c-$hash.claim" ]
}

@test "two agents, one state directory: requests held at once for another agent's claims do not stop the loop" {
	local pids=
	agent_start --declare --state-dir "$STATE"
	# Claims of another agent, in a form this one cannot read: live while
	# they are touched (the lease).
	for c in held-1 held-2 held-3; do
		echo "claimed by the test" >"$STATE/c-$(claim_hash "$c").claim"
		"$HCA_PORTAL" -w 40 -i "$c" <<<'{"type":"X"}' >"$BATS_TEST_TMPDIR/reply-$c" 2>&1 &
		pids+=" $!"
	done
	for c in held-1 held-2 held-3; do
		wait_log "$AGENT_LOG" "corr=$c .*another agent runs this request.s hook" 10
	done
	# The held requests are looked at every second: a loop that went
	# round them for ever answers nothing more.
	sleep 2.5
	touch "$STATE"/c-*.claim
	portal -w 5 -i free-1 <<<'{"type":"X"}'
	assert_success
	run jq -r .payload.id <<<"$output"
	assert_output id-free-1
	run cat "$RUNS"
	assert_output "free-1 0"
	# Their claims go: each held request runs here, once.
	rm "$STATE"/c-*.claim
	wait $pids
	for c in held-1 held-2 held-3; do
		run jq -r .payload.id "$BATS_TEST_TMPDIR/reply-$c"
		assert_output "id-$c"
	done
	run sort "$RUNS"
	assert_output "$(printf 'free-1 0\nheld-1 0\nheld-2 0\nheld-3 0')"
	assert grep -c "claim lapsed without a reply; running the hook here" "$AGENT_LOG"
}
