#!/usr/bin/env bats
# The sample hooks in hooks/, tested the way a provider tests theirs: send a
# payload through the offline mode and look at the reply and the side effects.
load lib/common

setup() {
	common_setup
	# A private copy, so that the checkout's modes (umask) do not matter.
	cp -R "$TOP/hooks/." "$HOOKS/"
	chmod -R go-w "$HOOKS"
	export SAMPLE_STATE_DIR=$BATS_TEST_TMPDIR/state
	export HCA_PASS_ENV=SAMPLE_STATE_DIR
	PAYLOADS=$TOP/examples/payloads
}

@test "chat team: allocated, recorded, id returned" {
	dispatch ResourceAllocateV1 -i corr-1 < "$PAYLOADS/chat-team.json"
	assert_success
	assert_reply .type ResourceCreatedV1
	id=$(reply .payload.id)
	assert_regex "$id" '^team-[0-9a-f]{16}$'
	run jq -r .team_name "$SAMPLE_STATE_DIR/ChatTeamSpecV1/$id.json"
	assert_output "Climate Lab"
}

@test "chat team: the same correlation id gives the same team" {
	dispatch ResourceAllocateV1 -i corr-same < "$PAYLOADS/chat-team.json"
	first=$(reply .payload.id)
	dispatch ResourceAllocateV1 -i corr-same < "$PAYLOADS/chat-team.json"
	assert_equal "$(reply .payload.id)" "$first"
	run ls "$SAMPLE_STATE_DIR/ChatTeamSpecV1"
	assert_output "$first.json"
}

@test "chat team: an invalid team name is InvalidSpecification with a usable message" {
	dispatch ResourceAllocateV1 < "$PAYLOADS/chat-team-invalid.json"
	assert_failure 1
	assert_reply .payload.type InvalidSpecification
	assert_reply .payload.message "team_name must be 1 to 64 letters, digits, spaces, _ or -"
	run ls "$SAMPLE_STATE_DIR/ChatTeamSpecV1"
	assert_failure
}

@test "chat team: no target user or group is UnknownTarget" {
	dispatch_body '{"type":"ChatTeamSpecV1","target_entity":{"user_id_target":null,"group_urn_target":null},"specification":{"team_name":"x"}}' ResourceAllocateV1
	assert_failure 1
	assert_reply .payload.type UnknownTarget
}

@test "compute: allocated with a JSON reply" {
	dispatch ResourceAllocateV1 < "$PAYLOADS/compute.json"
	assert_success
	id=$(reply .payload.id)
	assert_regex "$id" '^vm-[0-9a-f]{16}$'
	run jq -c '[.cpus, .memory_gb]' "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json"
	assert_output "[8,32]"
}

@test "compute: 100 cpus is refused with the hook's own error type and message" {
	dispatch_body '{"type":"ComputeResourceSpecV1","specification":{"cpus":100,"memory_gb":1}}' ResourceAllocateV1
	assert_failure 1
	assert_reply .payload.type InvalidSpecification
	assert_reply .payload.message "cpus must be a whole number from 1 to 64 and memory_gb one from 1 to 256"
}

@test "deallocate: removes what allocate made" {
	dispatch ResourceAllocateV1 < "$PAYLOADS/compute.json"
	id=$(reply .payload.id)
	assert [ -e "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json" ]
	dispatch_body "{\"id\":\"$id\"}" ResourceDeallocateV1
	assert_success
	assert_reply .type ResourceDeallocatedV1
	assert_reply .payload.id "$id"
	assert [ ! -e "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json" ]
}

@test "deallocate: an id the service never gave out is InvalidSpecification" {
	dispatch_body '{"id":"../../etc/passwd"}' ResourceDeallocateV1
	assert_failure 1
	assert_reply .payload.type InvalidSpecification
}

@test "ping: healthy when the state directory is writable" {
	dispatch_body '{}' PingV1
	assert_success
	assert_reply .payload.message "still alive"
}

@test "ping: ServiceUnavailable when the state cannot be written" {
	export SAMPLE_STATE_DIR=/proc/no-such-dir
	dispatch_body '{}' PingV1
	assert_failure 1
	assert_reply .payload.type ServiceUnavailable
}

@test "an unknown resource type is UnsupportedResourceType" {
	dispatch ResourceAllocateV1 < "$PAYLOADS/unknown-type.json"
	assert_failure 1
	assert_reply .payload.type UnsupportedResourceType
}

@test "the sample hooks are shellcheck-clean" {
	run shellcheck "$TOP/hooks/PingV1" "$TOP/hooks/ResourceDeallocateV1" "$TOP"/hooks/ResourceAllocateV1/*
	assert_success
	assert_output ""
}
