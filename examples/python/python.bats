#!/usr/bin/env bats
# Tests of the Python hooks (mailing lists).
load ../../share/hca	# installed: load /usr/local/share/hca-exec/hca

setup() {
	export HCA_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks
	cp -R "$BATS_TEST_DIRNAME/hooks" "$HCA_HOOKS_DIR"
	chmod -R go-w "$HCA_HOOKS_DIR"
	export MAILING_LIST_DB=$BATS_TEST_TMPDIR/lists.json
	export HCA_PASS_ENV=MAILING_LIST_DB
	LAB=urn:geant:helmholtz.de:group:climate-lab
}

allocate() {	# allocate SPEC_JSON [ARGS...]
	local spec=$1
	shift
	hca_dispatch ResourceAllocateV1 "$(hca_payload_group MailingListSpecV1 "$LAB" "$spec")" "$@"
}

@test "allocate answers list-NAME and records the list with its owner" {
	allocate '{"list_name":"climate-lab","moderated":false}'
	assert_success
	assert_reply_type ResourceCreatedV1
	assert_reply_field .id list-climate-lab
	run jq -c '.["list-climate-lab"] | [.owner, .moderated]' "$MAILING_LIST_DB"
	assert_output "[\"$LAB\",false]"
}

@test "a request that runs again gets the same list" {
	allocate '{"list_name":"climate-lab"}' -i corr-1
	allocate '{"list_name":"climate-lab"}' -i corr-1
	assert_success
	assert_reply_field .id list-climate-lab
	assert_hook_stderr "this request ran before"
	run jq length "$MAILING_LIST_DB"
	assert_output 1
}

@test "a name that another request took is ResourceExists" {
	allocate '{"list_name":"climate-lab"}' -i corr-1
	allocate '{"list_name":"climate-lab"}' -i corr-2
	assert_failure 1
	assert_error_type ResourceExists
	assert_error_message "a mailing list named climate-lab exists already"
}

@test "a bad list_name is InvalidSpecification, and nothing is recorded" {
	allocate '{"list_name":"Climate Lab!"}'
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message --partial "list_name must be"
	assert [ ! -e "$MAILING_LIST_DB" ]
}

@test "moderated that is not a boolean is InvalidSpecification" {
	allocate '{"list_name":"climate-lab","moderated":"yes"}'
	assert_error_type InvalidSpecification
	assert_error_message "moderated must be true or false"
}

@test "no owner is UnknownTarget" {
	hca_dispatch ResourceAllocateV1 '{"type":"MailingListSpecV1","specification":{"list_name":"climate-lab"}}'
	assert_error_type UnknownTarget
}

@test "a user as target owns the list" {
	hca_dispatch ResourceAllocateV1 "$(hca_payload_user MailingListSpecV1 \
	    a1b2c3@helmholtz.de '{"list_name":"climate-lab"}')"
	assert_success
	run jq -r '.["list-climate-lab"].owner' "$MAILING_LIST_DB"
	assert_output a1b2c3@helmholtz.de
}

@test "an exception is HookFailed: a generic message, the traceback in the log" {
	echo 'not json' > "$MAILING_LIST_DB"
	allocate '{"list_name":"climate-lab"}' -i corr-7
	assert_failure 1
	assert_error_type HookFailed
	assert_error_message --partial "quote reference corr-7"
	refute_output --partial Traceback
	assert_hook_stderr "Traceback"
}

@test "deallocate removes the list" {
	allocate '{"list_name":"climate-lab"}'
	allocate '{"list_name":"other-lab"}'
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc list-climate-lab)"
	assert_success
	assert_reply_type ResourceDeallocatedV1
	assert_reply_field .id list-climate-lab
	run jq -c 'keys' "$MAILING_LIST_DB"
	assert_output '["list-other-lab"]'
}

@test "deallocate of a list that is gone already succeeds" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc list-gone)"
	assert_success
	assert_reply_field .id list-gone
}

@test "deallocate refuses an id this service did not give out" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc ../../etc)"
	assert_error_type InvalidSpecification
}

@test "the hooks need nothing but the standard library" {
	cd "$BATS_TEST_DIRNAME"
	for hook in hooks/ResourceAllocateV1/* hooks/ResourceDeallocateV1; do
		run /usr/bin/python3 -I - "$hook" <<'PY'
import ast, sys
for node in ast.walk(ast.parse(open(sys.argv[1]).read())):
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
    else:
        continue
    print(*(n for n in names if n.split(".")[0] not in sys.stdlib_module_names))
PY
		assert_success
		refute_output --regexp '[a-z]'
	done
}
