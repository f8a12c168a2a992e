#!/usr/bin/env bats
# Hostile requests through a real broker: every case of tests/hostile-requests/
# (format: tests/hostile-requests/README) goes to one running agent, and each must
# get its documented answer; the agent stays up, and its resident memory
# is flat over 10 passes.  (tests/hostile-hooks.bats is the offline suite of
# hostile hooks.)
load lib/common
load lib/broker

CASES_DIR=$BATS_TEST_DIRNAME/hostile-requests

corpus() {
	ls "$CASES_DIR"/*.case
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

@test "hostile requests: the corpus has at least 40 cases" {
	n=$(corpus | wc -l)
	echo "# $n cases" >&3
	assert [ "$n" -ge 40 ]
}

@test "hostile requests: each case gets its answer, 10 passes, the agent stays up, memory flat" {
	agent_start --declare -c 4
	unroutable=$(grep -l '^expect: unroutable' $(corpus) | wc -l)
	out=$BATS_TEST_TMPDIR/pass
	for pass in $(seq 1 10); do
		rc=0
		# Bounded: should the agent die, every case would wait for
		# its reply in turn.
		timeout 120 "$PUBLISH_TOOL" cases "$HCA_URL" \
		    "$HCA_SERVICE.to_hca" "$HCA_SERVICE.to_portal" $(corpus) \
		    >"$out.$pass" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ]; then
			grep -v 'ok$' "$out.$pass" >&2
			fail "pass $pass: some cases did not get their answer"
		fi
		kill -0 "$AGENT_PID"
		[ "$pass" -eq 1 ] && rss1=$(rss_kb "$AGENT_PID")
		[ "$pass" -eq 10 ] && rss10=$(rss_kb "$AGENT_PID")
	done
	echo "# $(grep -c 'ok$' "$out.1") cases per pass, 10 passes; VmRSS after pass 1: $rss1 kB, after pass 10: $rss10 kB" >&3
	# Every answer in pass 1, for the record.
	cut -f1,2 "$out.1" | sed 's/^/#   /' >&3
	# ASan's quarantine keeps freed memory: only the plain build is held
	# to a flat footprint.
	if [ -z "${HCA_SANITIZED:-}" ]; then
		assert [ $((rss10 - rss1)) -le 1024 ]
	fi
	assert_depth "$HCA_SERVICE.to_hca" "0 0"
	assert_equal "$(count_log "$AGENT_LOG" 'could not be routed')" \
	    $((10 * unroutable))
	assert_equal "$(count_log "$AGENT_LOG" 'connection lost')" 0
}
