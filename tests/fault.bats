#!/usr/bin/env bats
# Nothing lost, nothing done twice: 500 requests through a real broker
# while faults are injected, with the journal (--state-dir) on and
# concurrency 8.  One private node for the file; each scenario has its own
# queues, journal and agent(s), and takes well under 90 s.
#
# The hook runs 0-100 ms and appends to $RUNS:
#	start CORR REDELIVERED PID J AGENT
#		J=1: a journal entry holding this request's reply existed
#		when it started; AGENT: $PPID, the agent that ran it
#	end CORR REDELIVERED PID
# and the test appends "fault N WHAT" just before it injects a fault.
# Proven from that file, for every correlation id:
#   - it ran at least once and was answered (its reply is in the outbound
#     queue with the right body);
#   - every run after its first has HCA_REDELIVERED=1;
#   - no run started while its reply was journaled (J=0): the journal is
#     written after the hook's end, before the reply is published, so a
#     request whose reply was journaled is never run again;
#   - a hook runs again only if the fault struck while it was in hand: no
#     agent process runs one request twice, and a first run of a request
#     that ran again was not by the agent that survives (it was by one
#     that was killed).  (The "fault" lines are not used for this: a
#     hook forked just before a SIGKILL may write its start line after
#     the test's "fault" line.);
#   - while the agent process lives (broker restarts, closed connections)
#     no hook runs twice at all: running hooks are adopted on redelivery.
#   - no reply is published again once the broker has confirmed it (the
#     agents log at debug level: every publish and every confirm, with the
#     correlation id); each duplicate reply is printed with its reason.
# Figures go to fd 3.
load lib/common
load lib/broker

N=500

setup() {
	broker_test_setup
	STATE=$BATS_TEST_TMPDIR/state
	mkdir -p "$STATE"
	export RUNS=$BATS_TEST_TMPDIR/runs STATE HCA_PASS_ENV=RUNS,STATE
	: >"$RUNS"
	NAGENT=0
	mkhook ResourceAllocateV1/default <<'EOF2'
#!/bin/sh
j=0
grep -qF "\"body\":{\"id\":\"id-$HCA_CORRELATION_ID\"}" "$STATE"/r-*.json \
    2>/dev/null && j=1
echo "start $HCA_CORRELATION_ID $HCA_REDELIVERED $$ $j $PPID" >>"$RUNS"
r=$(od -An -N1 -tu1 /dev/urandom)
sleep "$(printf '0.%03d' $((r * 100 / 255)))"
echo "end $HCA_CORRELATION_ID $HCA_REDELIVERED $$" >>"$RUNS"
echo "id-$HCA_CORRELATION_ID"
EOF2
}

teardown() {
	agent_stop
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done
}

# Start an agent (again) on the same journal, with a log of its own.
fault_agent() {
	NAGENT=$((NAGENT + 1))
	AGENT_LOG=$BATS_TEST_TMPDIR/agent.$NAGENT.log
	agent_start --declare --state-dir "$STATE" -c 8 -l debug
}

publish_all() {
	"$PUBLISH_TOOL" publish "$HCA_URL" "$HCA_SERVICE.to_hca" c "$N"
}

# wait_starts K: until K hook runs have started (at most 60 s).
wait_starts() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(grep -c '^start ' "$RUNS")" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "only $(grep -c '^start ' "$RUNS") runs started, wanted $1" >&2
	return 1
}

# wait_connected K: until the current agent has connected K times.
wait_connected() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(count_log "$AGENT_LOG" 'msg="connected to')" -ge "$1" ] &&
		    return 0
		sleep 0.1
	done
	echo "the agent did not connect $1 times" >&2
	cat "$AGENT_LOG" >&2
	return 1
}

# kill_and_restart AT...: at each count of started runs, SIGKILL the
# current agent and start another on the same journal.
kill_and_restart() {
	local at
	for at in "$@"; do
		wait_starts "$at"
		mark_fault "SIGKILL"
		kill -9 "$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null || true
		fault_agent
	done
}

mark_fault() {
	NFAULT=$((${NFAULT:-0} + 1))
	echo "fault $NFAULT $1" >>"$RUNS"
}

# Until every request is acked (inbound queue "0 0"), at most 240 s: each
# reply is fsync'd twice into the journal, which a busy disk makes slow.
wait_all_acked() {
	assert_depth "$HCA_SERVICE.to_hca" "0 0" 240
}

# Collect the replies, print the figures, and check the promises.
verify() {
	local name=$1 strict=$2 got=$BATS_TEST_TMPDIR/replies
	local answered replies dupids bad runs ran reruns red
	local notred journaled nofault fromj adopted already
	sleep 0.5
	"$PUBLISH_TOOL" collect "$HCA_URL" "$HCA_SERVICE.to_portal" >"$got"
	replies=$(grep -c . "$got" || true)
	answered=$(cut -f1 "$got" | grep -E '^c-[0-9]+$' | sort -u | wc -l)
	dupids=$(cut -f1 "$got" | sort | uniq -d | wc -l)
	bad=$(awk -F'\t' '$2 != "ResourceCreatedV1" ||
	    $3 != "{\"id\":\"id-" $1 "\"}"' "$got" | wc -l)
	runs=$(grep -c '^start ' "$RUNS" || true)
	ran=$(awk '$1 == "start" { print $2 }' "$RUNS" | sort -u | wc -l)
	reruns=$(awk '$1 == "start" { print $2 }' "$RUNS" | sort | uniq -d |
	    wc -l)
	red=$(awk '$1 == "start" && $3 == 1' "$RUNS" | wc -l)
	# runs after the first that lack HCA_REDELIVERED=1
	notred=$(awk '$1 == "start" && seen[$2]++ && $3 != 1' "$RUNS" | wc -l)
	# runs that started while their reply was journaled
	journaled=$(awk '$1 == "start" && $5 == 1' "$RUNS" | wc -l)
	# reruns by the agent that ran the request before, or whose first
	# run was by the agent that is still up
	nofault=$(awk -v live="${LIVE:-$AGENT_PID}" 'BEGIN { split(live, l, " ")
		for (i in l) alive[l[i]] = 1 }
	    $1 == "start" {
		if ($2 in by) { if ($6 == by[$2] || by[$2] in alive) {
			n++; print > "/dev/stderr" } }
		else by[$2] = $6 }
	    END { print n + 0 }' "$RUNS")
	fromj=$(cat "$BATS_TEST_TMPDIR"/agent.*.log |
	    grep -c 'answered from the journal' || true)
	adopted=$(cat "$BATS_TEST_TMPDIR"/agent.*.log |
	    grep -c 'not run again' || true)
	already=$(cat "$BATS_TEST_TMPDIR"/agent.*.log |
	    grep -c 'answered already' || true)
	# Publishes and confirms of every request, in time order, from all
	# the agents: "P CORR" and "C CORR".
	cat "$BATS_TEST_TMPDIR"/agent.*.log | sort | sed -n \
	    -e 's/.* corr=\([^ ]*\) .*msg="reply published to.*/P \1/p' \
	    -e 's/.* corr=\([^ ]*\) .*msg="request acked".*/C \1/p' \
	    -e 's/.* corr=\([^ ]*\) .*msg="reply confirmed;.*/C \1/p' \
	    -e 's/.* corr=\([^ ]*\) .*acked without sending it again.*/C \1/p' \
	    >"$BATS_TEST_TMPDIR/events"
	# A publish after a confirm is a broken promise; a request published
	# more than once before its confirm was resent because the confirm
	# had not come when the fault struck (allowed, and why).
	confacked=$(cat "$BATS_TEST_TMPDIR"/agent.*.log |
	    grep -c 'acked without sending it again' || true)
	afterconf=$(awk '$1 == "C" { c[$2] = 1 } $1 == "P" && c[$2] { n++ }
	    END { print n + 0 }' "$BATS_TEST_TMPDIR/events")
	resent=$(awk '$1 == "P" && !c[$2] && p[$2]++ { n++ } $1 == "C" { c[$2] = 1 }
	    END { print n + 0 }' "$BATS_TEST_TMPDIR/events")
	{
		echo "# $name: $N requests, $(grep -c '^fault ' "$RUNS") faults"
		echo "#   answered: $answered/$N; replies: $replies;" \
		    "ids with duplicate replies: $dupids" \
		    "($((replies - answered)) extra replies); wrong replies: $bad"
		echo "#   hook runs: $runs for $N requests ($ran ids ran," \
		    "$reruns ran twice or more); runs with HCA_REDELIVERED=1: $red"
		echo "#   answered from the journal: $fromj; adopted while" \
		    "running/publishing: $adopted; acked as answered: $already"
		echo "#   duplicate replies: $((replies - answered)); publishes" \
		    "again before a confirm (the fault came first): $resent;" \
		    "after a confirm: $afterconf; redeliveries acked, their" \
		    "reply confirmed already (journal): $confacked"
		echo "#   violations: rerun without REDELIVERED=1: $notred," \
		    "run with a journaled reply: $journaled," \
		    "rerun not caused by a fault: $nofault," \
		    "reply sent again after its confirm: $afterconf"
	} >&3
	assert_equal "$answered" "$N"
	assert_equal "$bad" 0
	assert_equal "$ran" "$N"
	assert_equal "$notred" 0
	assert_equal "$journaled" 0
	assert_equal "$nofault" 0
	assert_equal "$afterconf" 0
	if [ "$strict" = strict ]; then
		assert_equal "$reruns" 0
	fi
	# The agent is still up and every request is acked.
	kill -0 "$AGENT_PID"
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
}

@test "fault: the broker is restarted twice under load" {
	fault_agent
	publish_all
	wait_starts 100
	mark_fault "broker restart"
	"$TOP/tools/broker" restart "$BROKER_DIR" 3>&-
	wait_connected 2
	wait_starts 300
	mark_fault "broker restart"
	"$TOP/tools/broker" restart "$BROKER_DIR" 3>&-
	wait_connected 3
	wait_all_acked
	verify "broker restarted twice" strict
}

@test "fault: the agent is killed with SIGKILL twice and started again" {
	fault_agent
	publish_all
	kill_and_restart 120 320
	wait_all_acked
	verify "agent killed twice" lenient
}

@test "fault: the broker closes the agent's connection four times" {
	fault_agent
	publish_all
	k=1
	for at in 60 160 260 360; do
		wait_starts "$at"
		mark_fault "connection closed"
		broker_ctl close_all_connections "fault test: closed" >/dev/null
		k=$((k + 1))
		wait_connected "$k"
	done
	wait_all_acked
	verify "connection closed four times" strict
}

@test "fault: two agents share one state directory; one is killed twice and started again" {
	fault_agent
	other=$AGENT_PID
	publish_all
	fault_agent
	kill_and_restart 120 320
	wait_all_acked
	held=$(cat "$BATS_TEST_TMPDIR"/agent.*.log | grep -c 'another agent runs this request' || true)
	echo "# two agents, one journal: $held redeliveries held for the other agent's reply" >&3
	LIVE="$other $AGENT_PID" verify "two agents, one killed twice" lenient
	agent_stop "$other"
}
