#!/usr/bin/env bats
# The sample hooks in hooks/, tested the way a provider tests theirs: with the
# kit for hook authors (share/hca.bash, see hca-hooks(5)), send a payload
# through hca-exec's offline mode and look at the reply and the side effects.
load ../share/hca

setup() {
	# A private copy, so that the checkout's modes (umask) do not matter.
	export HCA_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks
	cp -R "$BATS_TEST_DIRNAME/../hooks" "$HCA_HOOKS_DIR"
	chmod -R go-w "$HCA_HOOKS_DIR"
	export SAMPLE_STATE_DIR=$BATS_TEST_TMPDIR/state
	export HCA_PASS_ENV=SAMPLE_STATE_DIR
	PAYLOADS=$BATS_TEST_DIRNAME/../examples/payloads
}

@test "chat team: allocated, recorded, id returned" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/chat-team.json" -i corr-1
	assert_success
	assert_reply_type ResourceCreatedV1
	id=$(hca_reply .payload.id)
	assert_regex "$id" '^team-[0-9a-f]{16}$'
	run jq -r .team_name "$SAMPLE_STATE_DIR/ChatTeamSpecV1/$id.json"
	assert_output "Climate Lab"
}

@test "chat team: the same correlation id gives the same team" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/chat-team.json" -i corr-same
	first=$(hca_reply .payload.id)
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/chat-team.json" -i corr-same
	assert_reply_field .id "$first"
	run ls "$SAMPLE_STATE_DIR/ChatTeamSpecV1"
	assert_output "$first.json"
}

@test "chat team: an invalid team name is InvalidSpecification with a usable message" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/chat-team-invalid.json"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message "team_name must be 1 to 64 letters, digits, spaces, _ or -"
	run ls "$SAMPLE_STATE_DIR/ChatTeamSpecV1"
	assert_failure
}

@test "chat team: no target user or group is UnknownTarget" {
	hca_dispatch ResourceAllocateV1 '{"type":"ChatTeamSpecV1","target_entity":{"user_id_target":null,"group_urn_target":null},"specification":{"team_name":"x"}}'
	assert_failure 1
	assert_error_type UnknownTarget
}

@test "compute: allocated with a JSON reply" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/compute.json"
	assert_success
	id=$(hca_reply .payload.id)
	assert_regex "$id" '^vm-[0-9a-f]{16}$'
	run jq -c '[.cpus, .memory_gb]' "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json"
	assert_output "[8,32]"
}

@test "compute: 100 cpus is refused with the hook's own error type and message" {
	hca_dispatch ResourceAllocateV1 "$(hca_payload_user ComputeResourceSpecV1 \
	    a1b2c3@helmholtz.de '{"cpus":100,"memory_gb":1}')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message "cpus must be a whole number from 1 to 64 and memory_gb one from 1 to 256"
}

@test "deallocate: removes what allocate made" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/compute.json"
	id=$(hca_reply .payload.id)
	assert [ -e "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json" ]
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc "$id")"
	assert_success
	assert_reply_type ResourceDeallocatedV1
	assert_reply_field .id "$id"
	assert [ ! -e "$SAMPLE_STATE_DIR/ComputeResourceSpecV1/$id.json" ]
}

@test "deallocate: an id the service never gave out is InvalidSpecification" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc ../../etc/passwd)"
	assert_failure 1
	assert_error_type InvalidSpecification
}

@test "ping: healthy when the state directory is writable" {
	hca_dispatch PingV1 '{}'
	assert_success
	assert_reply_type PingV1
	assert_reply_field .message "still alive"
}

@test "ping: ServiceUnavailable when the state cannot be written" {
	export SAMPLE_STATE_DIR=/proc/no-such-dir
	hca_dispatch PingV1 '{}'
	assert_failure 1
	assert_error_type ServiceUnavailable
}

@test "an unknown resource type is UnsupportedResourceType" {
	hca_dispatch ResourceAllocateV1 @"$PAYLOADS/unknown-type.json"
	assert_failure 1
	assert_error_type UnsupportedResourceType
}

@test "the sample hooks are shellcheck-clean" {
	cd "$BATS_TEST_DIRNAME/../hooks"
	run shellcheck PingV1 ResourceDeallocateV1 ResourceAllocateV1/*
	assert_success
	assert_output ""
}
