# tests/lib/common.bash: shared set-up for the bats suites.
#   load lib/common
# gives every test a private hooks directory ($HOOKS), and helpers:
#   mkhook PATH [MODE] <<'EOF' ... EOF   write $HOOKS/PATH (default mode 755)
#   dispatch KIND [ARGS...]             run hca-exec -n KIND -H $HOOKS, body on stdin;
#                                       sets $status, $output (the reply line), $stderr
#   reply '.jq.filter'                  apply jq to the reply line in $output
bats_load_library bats-support
bats_load_library bats-assert
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${HCA_EXEC:=$TOP/build/hca-exec}"
export HCA_EXEC

common_setup() {
	HOOKS=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKS"
	chmod 755 "$HOOKS"
	# Keep the tests independent of the caller's environment.
	unset HCA_URL HCA_URL_FILE HCA_SERVICE HCA_PASS_ENV HCA_HOOK_TIMEOUT \
	    HCA_HOOK_GRACE HCA_MAX_OUTPUT HCA_MAX_MESSAGE HCA_RETRIES \
	    HCA_RETRY_DELAY HCA_LOG_LEVEL HCA_LOG_FORMAT HCA_LOG_FILE \
	    HCA_HOOKS_DIR HCA_HOOK_PATH
	export HCA_RETRY_DELAY=0
}

setup() {
	common_setup
}

mkhook() {
	local path=$HOOKS/$1 mode=${2:-755}
	mkdir -p "$(dirname "$path")"
	chmod 755 "$(dirname "$path")"
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

reply() {
	jq -r "$1" <<<"$output"
}

assert_reply() {	# assert_reply FILTER EXPECTED
	assert_equal "$(reply "$1")" "$2"
}
