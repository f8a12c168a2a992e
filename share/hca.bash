# shellcheck shell=bash disable=SC2154
# (bats' run sets $status, $output and $stderr.)
# hca.bash: a bats kit for testing hca-exec hooks; see hca-hooks(5).
#
#   load /usr/local/share/hca-exec/hca      # or, with BATS_LIB_PATH set to
#                                           # that directory: bats_load_library hca
#
#   hca_dispatch KIND PAYLOAD [ARGS...]     run `hca-exec -n KIND ARGS` with PAYLOAD
#                                           (a JSON string, or @FILE) on stdin;
#                                           sets $status, $output (the reply line)
#                                           and $stderr (the log)
#   hca_reply FILTER                        jq -r FILTER on the reply line
#   assert_reply_type TYPE                  the reply's type is TYPE
#   assert_reply_field JQPATH VALUE         the reply payload's JQPATH is VALUE
#   assert_error_type TYPE                  the reply is an ErrorV1 of type TYPE
#   assert_error_message [--partial] TEXT   the reply is an ErrorV1 with this message
#   assert_hook_stderr TEXT                 the hook wrote a line with TEXT on stderr
#   hca_payload_user RTYPE USER_ID [SPEC]   a ResourceAllocateV1 body for a user
#   hca_payload_group RTYPE GROUP_URN [SPEC]  ... for a group
#   hca_payload_dealloc ID                  a ResourceDeallocateV1 body
#
# hca-exec is $HCA_EXEC if set, else the hca-exec installed with this file
# (../../bin/hca-exec, or ../build/hca-exec in a source tree), else hca-exec
# from PATH.  The hooks directory is $HCA_HOOKS_DIR, or a -H in ARGS.

bats_require_minimum_version 1.5.0
declare -F fail >/dev/null || bats_load_library bats-support
declare -F assert_equal >/dev/null || bats_load_library bats-assert

HCA_KIT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

hca_exec() {
	local c
	if [ -n "${HCA_EXEC:-}" ]; then
		echo "$HCA_EXEC"
		return
	fi
	for c in "$HCA_KIT_DIR/../../bin/hca-exec" "$HCA_KIT_DIR/../build/hca-exec"; do
		if [ -x "$c" ]; then
			echo "$c"
			return
		fi
	done
	echo hca-exec
}

hca_dispatch() {
	local kind=$1 payload=$2 body hooks=()
	shift 2
	case $payload in
	@*)	body=${payload#@} ;;
	*)	body=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/hca-request.json
		printf '%s' "$payload" > "$body" ;;
	esac
	if [ -n "${HCA_HOOKS_DIR:-}" ]; then
		hooks=(-H "$HCA_HOOKS_DIR")
	fi
	run --separate-stderr "$(hca_exec)" -n "$kind" "${hooks[@]}" "$@" < "$body"
}

hca_reply() {
	jq -r "$1" <<<"$output"
}

# _hca_fail TITLE [KEY VALUE]...: fail, showing the pairs, the reply and the log.
_hca_fail() {
	local title=$1
	shift
	batslib_print_kv_single_or_multi 8 "$@" status "$status" \
	    reply "$output" log "${stderr:-}" | batslib_decorate "$title" | fail
}

_hca_is_reply() {
	jq -e 'type == "object" and (.type | type) == "string" and has("payload")' \
	    <<<"$output" >/dev/null 2>&1 || _hca_fail 'hca-exec printed no reply'
}

assert_reply_type() {
	_hca_is_reply || return
	local got
	got=$(hca_reply .type)
	[ "$got" = "$1" ] ||
	    _hca_fail 'reply type differs' expected "$1" actual "$got"
}

assert_reply_field() {
	_hca_is_reply || return
	local got
	if ! got=$(jq -r ".payload | ($1) | if type == \"string\" then . else tojson end" \
	    <<<"$output" 2>&1); then
		_hca_fail 'bad jq path' path "$1" jq "$got"
		return
	fi
	[ "$got" = "$2" ] ||
	    _hca_fail 'reply field differs' path "$1" expected "$2" actual "$got"
}

assert_error_type() {
	assert_reply_type ErrorV1 || return
	assert_reply_field .type "$1"
}

assert_error_message() {
	local partial=0 got
	if [ "$1" = --partial ]; then
		partial=1
		shift
	fi
	assert_reply_type ErrorV1 || return
	got=$(hca_reply .payload.message)
	if [ "$partial" = 1 ]; then
		[[ $got == *"$1"* ]] ||
		    _hca_fail 'error message does not contain text' text "$1" message "$got"
	else
		[ "$got" = "$1" ] ||
		    _hca_fail 'error message differs' expected "$1" actual "$got"
	fi
}

assert_hook_stderr() {
	grep -F 'hook: ' <<<"${stderr:-}" | grep -qF -- "$1" ||
	    _hca_fail 'no line of the hook'"'"'s stderr has the text' text "$1"
}

# _hca_payload RTYPE USER GROUP SPEC: user and group are JSON (a string or null).
_hca_payload() {
	jq -cn --arg t "$1" --argjson u "$2" --argjson g "$3" --argjson s "$4" \
	    '{type: $t, target_entity: {user_id_target: $u, group_urn_target: $g},
	      specification: $s}'
}

hca_payload_user() {
	_hca_payload "$1" "$(jq -n --arg v "$2" '$v')" null "${3:-"{}"}"
}

hca_payload_group() {
	_hca_payload "$1" null "$(jq -n --arg v "$2" '$v')" "${3:-"{}"}"
}

hca_payload_dealloc() {
	jq -cn --arg id "$1" '{id: $id}'
}
