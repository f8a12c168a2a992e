#!/usr/bin/env bats
# Bad requests: each is answered with ErrorV1 InvalidRequest and a message
# that says what is wrong, and no hook runs.
load lib/common

A=ResourceAllocateV1

setup() {
	common_setup
	# Any hook that could be picked must not run for a bad request.
	markhook "$HOOKS/$A/default"
	markhook "$HOOKS/PingV1"
}

# send BODY [KIND]: the body (printf %b: escapes allowed) to KIND (default
# ResourceAllocateV1), correlation id c-bad.
send() {
	printf '%b' "$1" > "$BATS_TEST_TMPDIR/body"
	dispatch "${2:-$A}" -i c-bad < "$BATS_TEST_TMPDIR/body"
}

# invalid MESSAGE: InvalidRequest with MESSAGE, corr echoed, no hook ran.
invalid() {
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .correlation_id c-bad
	assert_reply .payload.type InvalidRequest
	assert_reply .payload.message "$1"
	assert [ ! -e "$HOOKS/$A/default.ran" ]
	assert [ ! -e "$HOOKS/PingV1.ran" ]
}

NOTJSON="The request body is not valid JSON."
NOTOBJ="The request body is not a JSON object."
NOTUTF8="The request body is not UTF-8 text."
BADTYPE="The request's resource type is not a valid name."

# --- the body as a whole -----------------------------------------------------------

@test "request: two objects parted by a record separator (0x1e) are InvalidRequest" {
	# libjq 1.6 would read the first only; the hook's jq reads both.
	send '{"type":"A","target_entity":{"user_id_target":"a"}}\x1e{"type":"B","target_entity":{"user_id_target":"root"}}'
	invalid "$NOTJSON"
}

@test "request: raw control bytes outside strings are InvalidRequest" {
	send '{"type":"X"}\x0c'
	invalid "$NOTJSON"
}

@test "request: invalid JSON is InvalidRequest" {
	send '{"type": "X",}'
	invalid "$NOTJSON"
}

@test "request: truncated JSON is InvalidRequest" {
	send '{"type": "X", "specification": {"a": 1}'
	invalid "$NOTJSON"
}

@test "request: two JSON objects are InvalidRequest" {
	send '{"type":"X"}{"type":"Y"}'
	invalid "$NOTJSON"
}

@test "request: plain text is InvalidRequest" {
	send 'please allocate a team'
	invalid "$NOTJSON"
}

@test "request: a JSON array is not an object" {
	send '[{"type":"X"}]'
	invalid "$NOTOBJ"
}

@test "request: a JSON string is not an object" {
	send '"ChatTeamSpecV1"'
	invalid "$NOTOBJ"
}

@test "request: a JSON number is not an object" {
	send '42'
	invalid "$NOTOBJ"
}

@test "request: JSON null is not an object" {
	send 'null'
	invalid "$NOTOBJ"
}

@test "request: a body that is not UTF-8 is InvalidRequest" {
	send '{"type":"X","name":"caf\351"}'
	invalid "$NOTUTF8"
}

@test "request: a body holding a NUL byte is InvalidRequest" {
	send '{"type":"X"}\0'
	invalid "$NOTUTF8"
}

@test "request: an overlong UTF-8 encoding is InvalidRequest" {
	send '{"type":"X","s":"\300\257"}'
	invalid "$NOTUTF8"
}

@test "request: a UTF-8 encoded surrogate is InvalidRequest" {
	send '{"type":"X","s":"\355\240\200"}'
	invalid "$NOTUTF8"
}

@test "request: valid multibyte UTF-8 is accepted" {
	printf '#!/bin/sh\necho utf8-ok\n' | mkhook $A/default
	send '{"type":"X","s":"Grüße ☃ 𝄞"}'
	assert_success
	assert_reply .payload.id utf8-ok
}

@test "request: larger than HCA_MAX_MESSAGE is InvalidRequest" {
	export HCA_MAX_MESSAGE=100
	send "{\"type\":\"X\",\"pad\":\"$(printf 'p%.0s' {1..80})\"}"	# 101 bytes
	invalid "The request is larger than this service accepts."
}

@test "request: exactly HCA_MAX_MESSAGE bytes is accepted" {
	export HCA_MAX_MESSAGE=100
	printf '#!/bin/sh\necho fits\n' | mkhook $A/default
	send "{\"type\":\"X\",\"pad\":\"$(printf 'p%.0s' {1..79})\"}"	# 100 bytes
	assert_success
	assert_reply .payload.id fits
}

@test "request: larger than the default 1 MiB is InvalidRequest" {
	{
		printf '{"type":"X","pad":"'
		head -c 1048576 /dev/zero | tr '\000' p
		printf '"}'
	} > "$BATS_TEST_TMPDIR/body"
	dispatch $A -i c-bad < "$BATS_TEST_TMPDIR/body"
	invalid "The request is larger than this service accepts."
}

@test "request: an empty body is InvalidRequest for ResourceAllocateV1" {
	send ''
	invalid "$NOTJSON"
}

@test "request: an empty body is InvalidRequest for ResourceDeallocateV1" {
	send '' ResourceDeallocateV1
	invalid "$NOTJSON"
}

@test "request: an empty body is fine for PingV1" {
	rm "$HOOKS/PingV1"
	send '' PingV1
	assert_success
	assert_reply .payload.message "still alive"
}

@test "request: an empty body reaches a hook that reads stdin as EOF, not as a wait" {
	# Were stdin left open, the hook would be stopped at its time limit and
	# the ping answered with Timeout instead.
	mkhook PingV1 <<-'EOF'
		#!/bin/sh
		n=$(wc -c)
		echo "{\"message\":\"got $n bytes\"}"
	EOF
	send '' PingV1 -t 5
	assert_success
	assert_reply .payload.message "got 0 bytes"
}

@test "request: invalid JSON is InvalidRequest for PingV1 too" {
	send '{ping' PingV1
	invalid "$NOTJSON"
}

@test "request: an array is InvalidRequest for PingV1 too" {
	send '[]' PingV1
	invalid "$NOTOBJ"
}

@test "request: a bad request is logged as a warning with what is wrong" {
	send '[1]'
	assert_log "level=warn corr=c-bad kind=$A msg=\"invalid request: The request body is not a JSON object.\""
}

@test "request: JSON nested 100000 deep is InvalidRequest, not a crash" {
	{
		printf '{"type":"X","a":'
		head -c 100000 /dev/zero | tr '\000' '['
		head -c 100000 /dev/zero | tr '\000' ']'
		printf '}'
	} > "$BATS_TEST_TMPDIR/body"
	dispatch $A -i c-bad < "$BATS_TEST_TMPDIR/body"
	invalid "$NOTJSON"
}

# --- the resource type ---------------------------------------------------------------

@test "request: a numeric type is InvalidRequest" {
	send '{"type":42}'
	invalid "$BADTYPE"
}

@test "request: an object as type is InvalidRequest" {
	send '{"type":{"name":"X"}}'
	invalid "$BADTYPE"
}

@test "request: an array as type is InvalidRequest" {
	send '{"type":["X"]}'
	invalid "$BADTYPE"
}

@test "request: an empty type is InvalidRequest" {
	send '{"type":""}'
	invalid "$BADTYPE"
}

@test "request: a type with a space is InvalidRequest" {
	send '{"type":"Chat Team"}'
	invalid "$BADTYPE"
}

@test "request: a type with ../ is InvalidRequest" {
	send '{"type":"../PingV1"}'
	invalid "$BADTYPE"
}

@test "request: a type with an escaped NUL is InvalidRequest" {
	send '{"type":"Chat\\u0000x"}'
	invalid "$BADTYPE"
}

@test "request: a type with non-ASCII letters is InvalidRequest" {
	send '{"type":"Größe"}'
	invalid "$BADTYPE"
}

@test "request: a type of 200 characters is InvalidRequest" {
	send "{\"type\":\"$(printf 'T%.0s' {1..200})\"}"
	invalid "$BADTYPE"
}

@test "request: a null type counts as no type" {
	printf '#!/bin/sh\necho "${HCA_RESOURCE_TYPE-unset}"\n' | mkhook $A/default
	send '{"type":null}'
	assert_success
	assert_reply .payload.id unset
}

# --- target_entity -----------------------------------------------------------------

@test "request: target_entity as a string is InvalidRequest" {
	send '{"type":"X","target_entity":"user-1"}'
	invalid "The request's target_entity is not an object."
}

@test "request: target_entity as an array is InvalidRequest" {
	send '{"type":"X","target_entity":[]}'
	invalid "The request's target_entity is not an object."
}

@test "request: a numeric user_id_target is InvalidRequest" {
	send '{"type":"X","target_entity":{"user_id_target":7}}'
	invalid "The request's target_entity is malformed."
}

@test "request: an object as group_urn_target is InvalidRequest" {
	send '{"type":"X","target_entity":{"group_urn_target":{"urn":"x"}}}'
	invalid "The request's target_entity is malformed."
}

@test "request: a user_id_target over 4096 bytes is InvalidRequest" {
	send "{\"type\":\"X\",\"target_entity\":{\"user_id_target\":\"$(printf 'u%.0s' {1..4097})\"}}"
	invalid "The request's target_entity is malformed."
}

@test "request: a user_id_target with a newline is InvalidRequest" {
	send '{"type":"X","target_entity":{"user_id_target":"alice\\nHCA_ATTEMPT=9"}}'
	invalid "The request's target user or group holds control, line-separator or bidirectional characters."
}

@test "request: a group_urn_target with an escape character is InvalidRequest" {
	send '{"type":"X","target_entity":{"group_urn_target":"urn:g:\\u001b]0;pwned\\u0007"}}'
	invalid "The request's target user or group holds control, line-separator or bidirectional characters."
}

@test "request: targets with a right-to-left override or a C1 control are InvalidRequest" {
	for t in 'urn:\\u202eg' 'alice\\u0085' 'bob\\u2028'; do
		send "{\"type\":\"X\",\"target_entity\":{\"user_id_target\":\"$t\"}}"
		invalid "The request's target user or group holds control, line-separator or bidirectional characters."
	done
}

@test "request: null targets and a null target_entity are fine" {
	printf '#!/bin/sh\necho nulls-ok\n' | mkhook $A/default
	send '{"type":"X","target_entity":{"user_id_target":null,"group_urn_target":null}}'
	assert_success
	send '{"type":"X","target_entity":null}'
	assert_success
	assert_reply .payload.id nulls-ok
}

# --- the kind and the correlation id -----------------------------------------------

@test "request: a kind with a space is InvalidRequest" {
	send '{}' 'Resource AllocateV1'
	invalid "The request's message type is missing or not a valid name."
}

@test "request: a kind with / is InvalidRequest" {
	send '{}' "$A/default"
	invalid "The request's message type is missing or not a valid name."
}

@test "request: a kind starting with a digit is InvalidRequest" {
	send '{}' 1PingV1
	invalid "The request's message type is missing or not a valid name."
}

@test "request: a kind with non-ASCII letters is InvalidRequest" {
	send '{}' PïngV1
	invalid "The request's message type is missing or not a valid name."
}

@test "request: a valid but unknown kind is UnsupportedMessage, whatever the body" {
	send 'not even json' ResourceExplodeV1
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
}

@test "request: an empty kind is a usage error" {
	dispatch '' <<<'{}'
	assert_failure 2
	assert_output ''
}

@test "request: a correlation id with a control character is InvalidRequest" {
	printf '{}' > "$BATS_TEST_TMPDIR/body"
	dispatch $A -i "$(printf 'c\033bad')" < "$BATS_TEST_TMPDIR/body"
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert_reply .payload.message "The request's correlation id is missing or not printable text."
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "request: a correlation id over 255 bytes is InvalidRequest" {
	printf '{}' > "$BATS_TEST_TMPDIR/body"
	dispatch $A -i "$(printf 'c%.0s' {1..256})" < "$BATS_TEST_TMPDIR/body"
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "request: a correlation id of 255 bytes is accepted and echoed" {
	printf '#!/bin/sh\necho corr-ok\n' | mkhook $A/default
	corr=$(printf 'c%.0s' {1..255})
	printf '{}' > "$BATS_TEST_TMPDIR/body"
	dispatch $A -i "$corr" < "$BATS_TEST_TMPDIR/body"
	assert_success
	assert_reply .correlation_id "$corr"
}
