# tests/lib/common.bash: shared set-up for the bats suites.
#   load lib/common
# gives every test a private hooks directory ($HOOKS), and helpers:
#   mkhook PATH [MODE] <<'EOF' ... EOF   write $HOOKS/PATH (default mode 755)
#   dispatch KIND [ARGS...]             run hca-exec -n KIND -H $HOOKS, body on stdin;
#                                       sets $status, $output (the reply line), $stderr
#   reply '.jq.filter'                  apply jq to the reply line in $output
#   replyc '.jq.filter'                 the same, compact JSON
#   assert_reply FILTER EXPECTED        reply FILTER is EXPECTED
bats_load_library bats-support
bats_load_library bats-assert
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${HCA_EXEC:=$TOP/build/hca-exec}"
export HCA_EXEC

common_setup() {
	local v
	HOOKS=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKS"
	chmod 755 "$HOOKS"
	# Keep the tests independent of the caller's environment: no HCA_*
	# setting of the caller's reaches hca-exec, only the harness's own.
	unset HCA_URL HCA_URL_FILE HCA_SERVICE HCA_PASS_ENV HCA_HOOK_TIMEOUT \
	    HCA_HOOK_GRACE HCA_MAX_OUTPUT HCA_MAX_MESSAGE HCA_RETRIES \
	    HCA_RETRY_DELAY HCA_LOG_LEVEL HCA_LOG_FORMAT HCA_LOG_FILE \
	    HCA_HOOKS_DIR HCA_HOOK_PATH
	for v in $(compgen -e HCA_); do
		case $v in
		HCA_EXEC|HCA_PORTAL|HCA_SANITIZED|HCA_TAP_TOTALS) ;;
		*) unset "$v" ;;
		esac
	done
	export HCA_RETRY_DELAY=0
}

setup() {
	common_setup
}

mkhook() {
	local path=$HOOKS/$1 mode=${2:-755}
	mkdir -p "${path%/*}"
	chmod 755 "${path%/*}"
	cat > "$path"
	chmod "$mode" "$path"
}

# dispatch KIND [ARGS...] < body
dispatch() {
	local kind=$1
	shift
	run --separate-stderr "$HCA_EXEC" -n "$kind" -H "$HOOKS" "$@"
}

# dispatch_body BODY KIND [ARGS...]
dispatch_body() {
	local body=$1
	shift
	dispatch "$@" <<<"$body"
}

# jq takes ~20 ms to start: the reply line is read once, every scalar in it
# kept by its path (.type, .payload.id, ...), and reply() answers such plain
# paths from there while $output is still that line; anything else is jq's.
declare -gA REPLY_CACHE=()
REPLY_CACHE_FOR=

reply_cache() {
	local k v
	REPLY_CACHE=()
	REPLY_CACHE_FOR=$output
	while IFS= read -r -d '' k && IFS= read -r -d '' v; do
		REPLY_CACHE[$k]=$v
	done < <(jq -j 'paths(scalars) as $p |
	    ($p | map("." + tostring) | join("")), "\u0000",
	    (getpath($p) | tostring | gsub("\u0000"; "")), "\u0000"' \
	    <<<"$output" 2>/dev/null)
}

reply() {
	[ "$output" = "$REPLY_CACHE_FOR" ] || reply_cache
	if [ -n "$1" ] && [[ -v REPLY_CACHE["$1"] ]]; then
		printf '%s\n' "${REPLY_CACHE["$1"]}"
	else
		jq -r "$1" <<<"$output"
	fi
}

replyc() {	# replyc '.jq.filter': compact JSON
	jq -c "$1" <<<"$output"
}

assert_reply() {	# assert_reply FILTER EXPECTED
	# Fill the cache here: $(reply) runs in a subshell that cannot keep it.
	[ "$output" = "$REPLY_CACHE_FOR" ] || reply_cache
	assert_equal "$(reply "$1")" "$2"
}

# ---------------------------------------------------------------------------
# Helpers of the core suites (resolve, mapping, env, hostile-hooks, config, log,
# requests).
#   fixture NAME PATH             copy tests/fixtures/hooks/NAME to $HOOKS/PATH
#                                 (mode 755)
#   envhook PATH                  a hook that saves the environment it got in
#                                 $HOOK_ENV and prints the id "env"
#   hook_env NAME                 print NAME's value from $HOOK_ENV; status 1
#                                 if the hook did not get NAME
#   markhook FILE                 an executable at the absolute path FILE
#                                 that creates FILE.ran when it runs
#   assert_log ERE / refute_log ERE   some / no line of the log ($stderr)
#                                 matches the extended regular expression
#   clock_start, elapsed_ms       wall time since clock_start, in ms
#   proc_gone PID                 the process is gone (or a zombie)
#   wait_gone PID                 proc_gone, allowing 2 s for a kill to land
#   kill_later PID                SIGKILL PID in teardown if it is still
#                                 there (what a hostile hook left behind)
FIXTURES=$TOP/tests/fixtures/hooks

fixture() {
	local path=$HOOKS/$2
	mkdir -p "${path%/*}"
	chmod 755 "${path%/*}"
	cp "$FIXTURES/$1" "$path"
	chmod 755 "$path"
}

envhook() {
	HOOK_ENV=$BATS_TEST_TMPDIR/hook.env
	mkhook "$1" <<EOF
#!/bin/sh
# /proc/self/environ is what execve gave us, before the shell adds anything.
tr '\\000' '\\n' < /proc/\$\$/environ > '$HOOK_ENV'
echo env
EOF
}

hook_env() {
	grep -q "^$1=" "$HOOK_ENV" || return 1
	sed -n "s/^$1=//p" "$HOOK_ENV"
}

markhook() {
	mkdir -p "${1%/*}"
	printf '#!/bin/sh\ntouch "%s.ran"\necho ran\n' "$1" > "$1"
	chmod 755 "$1"
}

assert_log() {
	if ! grep -Eq -- "$1" <<<"$stderr"; then
		batslib_print_kv_single_or_multi 8 regexp "$1" log "$stderr" |
		    batslib_decorate 'no log line matches' | fail
	fi
}

refute_log() {
	local hits
	if hits=$(grep -E -- "$1" <<<"$stderr"); then
		batslib_print_kv_single_or_multi 8 regexp "$1" lines "$hits" |
		    batslib_decorate 'log lines match' | fail
	fi
}

clock_start() {
	CLOCK_START=$(date +%s%N)
}

elapsed_ms() {
	echo $((($(date +%s%N) - CLOCK_START) / 1000000))
}

proc_gone() {
	local state
	[ -e "/proc/$1/stat" ] || return 0
	state=$(sed 's/.*) \([A-Z]\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# wait_gone PID: proc_gone within 2 s (a SIGKILL is sent, not yet done).
wait_gone() {
	local i
	for ((i = 0; i < 20; i++)); do
		proc_gone "$1" && return 0
		sleep 0.1
	done
	return 1
}

kill_later() {
	echo "$1" >> "$BATS_TEST_TMPDIR/kill-later"
}

# Default teardown: what a hostile hook may have left running.
common_teardown() {
	local pid
	[ -f "$BATS_TEST_TMPDIR/kill-later" ] || return 0
	while read -r pid; do
		[ -n "$pid" ] && ! proc_gone "$pid" && kill -KILL "$pid" 2>/dev/null
	done < "$BATS_TEST_TMPDIR/kill-later"
	return 0
}

teardown() {
	common_teardown
}
