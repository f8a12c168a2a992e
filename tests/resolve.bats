#!/usr/bin/env bats
# Which hook runs (hca-exec(8), HOOKS, "Which hook runs"): the candidates
# and their order, names that must never become paths, and the ownership and
# permission checks.
load lib/common

A=ResourceAllocateV1

idhook() {	# idhook PATH ID: a hook that answers with ID
	mkhook "$1" <<EOF
#!/bin/sh
echo '$2'
EOF
}

as_root() {
	[ "$(id -u)" -eq 0 ] || { [ -z "${CI:-}" ] || fail "CI runs as root"; skip "needs root to give a file to another user"; }
}

# --- the candidates, in order ----------------------------------------------

@test "resolve: HOOKS/T/R wins over HOOKS/T/default" {
	idhook $A/ChatTeamSpecV1 from-type
	idhook $A/default from-default
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A
	assert_success
	assert_reply .payload.id from-type
}

@test "resolve: HOOKS/T/default runs when there is no HOOKS/T/R" {
	idhook $A/OtherSpecV1 from-other
	idhook $A/default from-default
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A
	assert_success
	assert_reply .payload.id from-default
}

@test "resolve: HOOKS/T/default runs for a body without a type" {
	idhook $A/default from-default
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id from-default
}

@test "resolve: HOOKS/T itself runs when it is an executable file" {
	idhook $A from-kind-file
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A
	assert_success
	assert_reply .payload.id from-kind-file
}

@test "resolve: HOOKS/T as a file serves a body without a type too" {
	idhook ResourceDeallocateV1 dealloc-file
	dispatch_body '{"id":"x-1"}' ResourceDeallocateV1
	assert_success
	assert_reply .payload.id dealloc-file
}

@test "resolve: a non-executable HOOKS/T/R is skipped with a warning, default runs" {
	idhook $A/ChatTeamSpecV1 from-type
	chmod 644 "$HOOKS/$A/ChatTeamSpecV1"
	idhook $A/default from-default
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A -i c-noexec
	assert_success
	assert_reply .payload.id from-default
	assert_log "level=warn corr=c-noexec kind=$A msg=\".*$A/ChatTeamSpecV1 is not executable; skipped\""
}

@test "resolve: a non-executable hook and nothing else is UnsupportedResourceType" {
	idhook $A/ChatTeamSpecV1 from-type
	chmod 644 "$HOOKS/$A/ChatTeamSpecV1"
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A
	assert_failure 1
	assert_reply .payload.type UnsupportedResourceType
	assert_log 'not executable; skipped'
}

@test "resolve: a directory named like the resource type is passed over for default" {
	mkdir -m 755 -p "$HOOKS/$A/ChatTeamSpecV1"
	idhook $A/default from-default
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A
	assert_success
	assert_reply .payload.id from-default
}

# --- no hook ----------------------------------------------------------------

@test "resolve: no hook for a body with a type is UnsupportedResourceType naming it" {
	idhook $A/OtherSpecV1 other
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A -i c-none
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .correlation_id c-none
	assert_reply .payload.type UnsupportedResourceType
	assert_reply .payload.message "This service does not offer resource type ChatTeamSpecV1."
}

@test "resolve: no hook for a body without a type is UnsupportedMessage" {
	dispatch_body '{}' ResourceUpdateV1
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
	assert_reply .payload.message "This service does not handle ResourceUpdateV1 requests."
}

@test "resolve: a kind outside the table is UnsupportedMessage and its hook never runs" {
	markhook "$HOOKS/FancyRequestV1"
	dispatch_body '{}' FancyRequestV1
	assert_failure 1
	assert_reply .payload.type UnsupportedMessage
	assert_reply .payload.message "This service does not handle FancyRequestV1 requests."
	assert [ ! -e "$HOOKS/FancyRequestV1.ran" ]
}

@test "resolve: PingV1 without a hook answers still alive" {
	dispatch_body '{}' PingV1 -i c-ping
	assert_success
	assert_equal "$output" '{"type":"PingV1","correlation_id":"c-ping","payload":{"message":"still alive"}}'
}

@test "resolve: PingV1 with a hook that exits 0 silently runs it and answers still alive" {
	mkhook PingV1 <<EOF
#!/bin/sh
touch '$BATS_TEST_TMPDIR/ping.ran'
EOF
	dispatch_body '{}' PingV1
	assert_success
	assert_reply .type PingV1
	assert_reply .payload.message "still alive"
	assert [ -e "$BATS_TEST_TMPDIR/ping.ran" ]
}

@test "resolve: PingV1 with a hook that fails is ErrorV1" {
	mkhook PingV1 <<'EOF'
#!/bin/sh
echo "disk full"
exit 69
EOF
	dispatch_body '{}' PingV1
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .payload.type ServiceUnavailable
	assert_reply .payload.message "disk full"
}

# --- names are checked before any path is built -----------------------------

@test "names: a resource type with ../ is InvalidRequest and runs nothing outside HOOKS" {
	# HOOKS/T/../../evil would be $BATS_TEST_TMPDIR/evil.
	markhook "$BATS_TEST_TMPDIR/evil"
	markhook "$HOOKS/$A/default"
	dispatch_body '{"type":"../../evil"}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$BATS_TEST_TMPDIR/evil.ran" ]
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: a resource type with / is InvalidRequest and runs nothing in a subdirectory" {
	markhook "$HOOKS/$A/sub/hook"
	markhook "$HOOKS/$A/default"
	dispatch_body '{"type":"sub/hook"}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/sub/hook.ran" ]
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: resource type .. is InvalidRequest, not a fall-through to default" {
	# HOOKS/T/.. is a directory: were it tried, default would run next.
	markhook "$HOOKS/$A/default"
	dispatch_body '{"type":".."}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: resource type . is InvalidRequest, not a fall-through to default" {
	markhook "$HOOKS/$A/default"
	dispatch_body '{"type":"."}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: a resource type with a space is InvalidRequest even if a file has that name" {
	markhook "$HOOKS/$A/Chat Team"
	dispatch_body '{"type":"Chat Team"}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/Chat Team.ran" ]
}

@test "names: a resource type of 200 characters is InvalidRequest" {
	markhook "$HOOKS/$A/default"
	long=$(printf 'R%.0s' {1..200})
	dispatch_body "{\"type\":\"$long\"}" $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: a resource type of 128 characters is valid and reaches its hook" {
	long=R$(printf 'x%.0s' {1..127})
	idhook "$A/$long" long-ok
	dispatch_body "{\"type\":\"$long\"}" $A
	assert_success
	assert_reply .payload.id long-ok
}

@test "names: a resource type of 129 characters is InvalidRequest" {
	long=R$(printf 'x%.0s' {1..128})
	markhook "$HOOKS/$A/default"
	dispatch_body "{\"type\":\"$long\"}" $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "names: a resource type starting with a digit is InvalidRequest" {
	markhook "$HOOKS/$A/1Spec"
	dispatch_body '{"type":"1Spec"}' $A
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/1Spec.ran" ]
}

@test "names: a kind with ../ is InvalidRequest and runs nothing outside HOOKS" {
	markhook "$BATS_TEST_TMPDIR/evil"
	dispatch_body '{}' ../evil
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$BATS_TEST_TMPDIR/evil.ran" ]
}

@test "names: a kind with / is InvalidRequest and runs nothing in a subdirectory" {
	markhook "$HOOKS/$A/x"
	dispatch_body '{}' $A/x
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/$A/x.ran" ]
}

@test "names: kind .. is InvalidRequest" {
	dispatch_body '{}' ..
	assert_failure 1
	assert_reply .payload.type InvalidRequest
}

@test "names: a kind with a space is InvalidRequest even if a hook has that name" {
	markhook "$HOOKS/Resource Allocate"
	dispatch_body '{}' "Resource Allocate"
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert [ ! -e "$HOOKS/Resource Allocate.ran" ]
}

@test "names: a kind of 200 characters is InvalidRequest" {
	dispatch_body '{}' "$(printf 'K%.0s' {1..200})"
	assert_failure 1
	assert_reply .payload.type InvalidRequest
	assert_reply .payload.message "The request's message type is missing or not a valid name."
}

# --- ownership and permissions ----------------------------------------------

# assert_refused MARKER: ConfigurationError with the generic message, an
# error log line saying "refused", and the hook did not run.
assert_refused() {
	assert_failure 1
	assert_reply .payload.type ConfigurationError
	assert_reply .payload.message "The service could not complete this request. Please contact the service's support and quote reference c-refused."
	assert_log 'level=error corr=c-refused .*refused'
	assert [ ! -e "$1.ran" ]
}

@test "refused: a group-writable hook" {
	markhook "$HOOKS/$A/default"
	chmod 775 "$HOOKS/$A/default"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: a world-writable hook" {
	markhook "$HOOKS/$A/default"
	chmod 757 "$HOOKS/$A/default"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: a world-writable HOOKS/T file" {
	markhook "$HOOKS/$A"
	chmod 777 "$HOOKS/$A"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A"
}

@test "refused: a hook in a group-writable HOOKS/T directory" {
	markhook "$HOOKS/$A/ChatTeamSpecV1"
	chmod 775 "$HOOKS/$A"
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A -i c-refused
	assert_refused "$HOOKS/$A/ChatTeamSpecV1"
}

@test "refused: a hook in a world-writable HOOKS directory" {
	markhook "$HOOKS/$A/default"
	chmod 777 "$HOOKS"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: HOOKS/T as a file in a world-writable HOOKS directory" {
	markhook "$HOOKS/$A"
	chmod 757 "$HOOKS"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A"
}

@test "refused: a hook owned by another user" {
	as_root
	markhook "$HOOKS/$A/default"
	chown 65534 "$HOOKS/$A/default"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: a hook in a HOOKS/T directory owned by another user" {
	as_root
	markhook "$HOOKS/$A/default"
	chown 65534 "$HOOKS/$A"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: a hooks directory owned by another user" {
	as_root
	markhook "$HOOKS/$A/default"
	chown 65534 "$HOOKS"
	dispatch_body '{}' $A -i c-refused
	assert_refused "$HOOKS/$A/default"
}

@test "refused: an unsafe HOOKS/T/R does not fall back to a safe default" {
	markhook "$HOOKS/$A/ChatTeamSpecV1"
	chmod 777 "$HOOKS/$A/ChatTeamSpecV1"
	markhook "$HOOKS/$A/default"
	dispatch_body '{"type":"ChatTeamSpecV1"}' $A -i c-refused
	assert_refused "$HOOKS/$A/ChatTeamSpecV1"
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "refused: the reply does not name the hook's path" {
	markhook "$HOOKS/$A/default"
	chmod 777 "$HOOKS/$A/default"
	dispatch_body '{}' $A -i c-refused
	assert_reply .payload.type ConfigurationError
	refute_output --partial "$HOOKS"
	refute_output --partial default
}

@test "permissions: a hook owned by root, mode 0500, runs" {
	idhook $A/default strict-mode
	chmod 500 "$HOOKS/$A/default"
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id strict-mode
}
