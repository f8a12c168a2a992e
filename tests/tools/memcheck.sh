#!/bin/bash
# tests/tools/memcheck.sh (make memcheck): hca-exec against a private
# RabbitMQ node.
#  1. Under valgrind (leaks, errors, fds): a mix of requests (success,
#     hook failure, timeouts, retries via exit 75, ping, an unknown kind,
#     requests without a correlation id, a closed connection, one pass of
#     the hostile corpus), then SIGTERM.  Fails on any valgrind error,
#     definite or indirect leak, or a descriptor left open at exit.
#  2. Without valgrind, -c 8, a trivial hook: VmRSS after 100 and after
#     10,000 requests, within 1 MiB.
# Usage: tests/tools/memcheck.sh BUILD_DIR   (from the top directory)
set -eu
B=${1:-build}
TOP=$(pwd)
EXEC=$TOP/$B/hca-exec
PUB=$TOP/build/tools/hca-publish
W=$(mktemp -d /tmp/hca-memcheck.XXXXXX)
chmod 755 "$W"
agent=
cleanup() {
	[ -n "$agent" ] && kill -KILL "$agent" 2>/dev/null
	"$TOP/tools/broker" stop "$W/node" --rm >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
say() { printf 'memcheck: %s\n' "$*"; }
die() { say "FAIL: $*"; exit 1; }

wait_log() {	# FILE ERE SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$1"
	die "timed out waiting for /$2/ in $1"
}

depth() { "$PUB" depth "$HCA_URL" "$1"; }

# Until the broker holds n messages in queue $1, at most $3 seconds.
wait_depth() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(depth "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	die "$1 holds $(depth "$1") messages, wanted $2"
}

"$TOP/tools/broker" start "$W/node" >/dev/null
HCA_URL=$("$TOP/tools/broker" url "$W/node")
export HCA_URL HCA_RETRY_DELAY=0.1
mkdir -p "$W/hooks/ResourceAllocateV1" "$W/state"
chmod 755 "$W/hooks" "$W/hooks/ResourceAllocateV1"
cat >"$W/hooks/ResourceAllocateV1/default" <<'EOF2'
#!/bin/sh
body=$(cat)
case $body in
*fail*) echo "no such team"; exit 67 ;;
*slow*) sleep 5 ;;
*retry*) [ "$HCA_ATTEMPT" -ge 2 ] || exit 75 ;;
*garbage*) echo 'not an id: {'; exit 0 ;;
esac
echo "id-$HCA_CORRELATION_ID"
EOF2
chmod 755 "$W/hooks/ResourceAllocateV1/default"

# ---- 1. valgrind ---------------------------------------------------
export HCA_SERVICE=vg
say "valgrind: starting the agent"
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --track-fds=yes --trace-children=no \
    --log-file="$W/valgrind.log" \
    "$EXEC" -H "$W/hooks" --declare -c 4 -t 1 --hook-grace 0.2 \
    --retries 2 --state-dir "$W/state" >"$W/agent.log" 2>&1 &
agent=$!
wait_log "$W/agent.log" 'msg="consuming' 60
q=vg.to_hca
"$PUB" publish "$HCA_URL" $q ok 30
"$PUB" publish "$HCA_URL" $q fail 5 '{"type":"X","x":"fail"}'
"$PUB" publish "$HCA_URL" $q slow 3 '{"type":"X","x":"slow"}'
"$PUB" publish "$HCA_URL" $q retry 5 '{"type":"X","x":"retry"}'
"$PUB" publish "$HCA_URL" $q garbage 3 '{"type":"X","x":"garbage"}'
"$PUB" publish "$HCA_URL" $q bad 5 '{"type": oops'
"$PUB" publish "$HCA_URL" $q ping 5 '' PingV1
"$PUB" publish "$HCA_URL" $q unknown 3 '{}' FrobnicateV1
amqp-publish --url="$HCA_URL" -r $q -b '{"type":"X"}'
wait_depth vg.to_portal 59 120
say "valgrind: closing the agent's connection"
"$TOP/tools/broker" ctl "$W/node" close_all_connections memcheck >/dev/null
wait_log "$W/agent.log" 'attempt 1\)' 30
wait_log "$W/agent.log" 'msg="consuming.*' 30
"$PUB" publish "$HCA_URL" $q after 10
wait_depth vg.to_portal 69 120
"$PUB" collect "$HCA_URL" vg.to_portal >"$W/replies"
say "valgrind: replies so far: $(cut -f2,3 "$W/replies" |
    sed -e 's/"message":"[^"]*"//' -e 's/"id":"[^"]*"/"id":ID/' | sort | uniq -c | sort -rn | tr -s ' \n' ' ')"
say "valgrind: the hostile corpus"
"$PUB" cases "$HCA_URL" $q vg.to_portal \
    "$TOP"/tests/hostile-requests/*.case >"$W/cases" ||
    { cat "$W/cases"; die "hostile cases under valgrind"; }
say "valgrind: $(grep -c 'ok$' "$W/cases") hostile cases answered; SIGTERM"
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
agent=
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|FILE DESCRIPTORS' \
    "$W/valgrind.log" | sed 's/^==[0-9]*== */memcheck:   /'
if [ "$rc" -ne 0 ]; then
	cat "$W/valgrind.log"
	tail -n 20 "$W/agent.log"
	die "hca-exec under valgrind exited $rc (99: valgrind errors or leaks)"
fi
# At exit no descriptor of its own may be open (inherited ones, such as
# valgrind's log, are not the agent's).
open=$(awk '/Open (file|AF_[A-Z0-9]+ socket) descriptor/ { n++; d = $0; next }
    /<inherited from parent>/ { n-- }
    END { print n + 0 }' "$W/valgrind.log")
[ "$open" -eq 0 ] || { cat "$W/valgrind.log"; die "$open descriptors of its own open at exit"; }
say "valgrind: clean (exit 0, no errors, no leaks, no descriptor of its own open at exit)"

# ---- 2. resident memory, 100 vs 10,000 requests ---------------------
export HCA_SERVICE=rss
printf '#!/bin/sh\necho "id-$HCA_CORRELATION_ID"\n' \
    >"$W/hooks/ResourceAllocateV1/default"
"$EXEC" -H "$W/hooks" --declare -c 8 >"$W/rss.log" 2>&1 &
agent=$!
wait_log "$W/rss.log" 'msg="consuming' 15
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status"; }
"$PUB" publish "$HCA_URL" rss.to_hca a 100
wait_depth rss.to_portal 100 60
rss100=$(rss)
start=$SECONDS
"$PUB" publish "$HCA_URL" rss.to_hca b 9900
wait_depth rss.to_portal 10000 200
rss10k=$(rss)
say "VmRSS after 100 requests: $rss100 kB, after 10000: $rss10k kB" \
    "($((SECONDS - start)) s for 9900)"
kill -TERM "$agent"
wait "$agent" || true
agent=
[ $((rss10k - rss100)) -le 1024 ] ||
    die "resident memory grew by $((rss10k - rss100)) kB"
say "ok"
