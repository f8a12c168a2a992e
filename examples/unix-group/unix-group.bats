#!/usr/bin/env bats
# Tests of the unix-group hooks.  groupadd and groupdel run for real, as root,
# but on a sandbox copy of the group files (UNIX_GROUP_ROOT, groupadd
# --prefix), so the machine's own groups are never touched.  Groups get the
# prefix hca_test_ all the same.
load ../../share/hca	# installed: load /usr/local/share/hca-exec/hca

setup() {
	[ "$(id -u)" = 0 ] || { [ -z "${CI:-}" ] || fail "CI runs as root"; skip "groupadd needs root, even in a sandbox"; }
	# A private copy of the hooks, so that the checkout's modes do not matter.
	export HCA_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks
	cp -R "$BATS_TEST_DIRNAME/hooks" "$HCA_HOOKS_DIR"
	chmod -R go-w "$HCA_HOOKS_DIR"

	SANDBOX=$BATS_TEST_TMPDIR/root
	mkdir -p "$SANDBOX/etc"
	echo 'root:x:0:' > "$SANDBOX/etc/group"
	echo 'root:*::' > "$SANDBOX/etc/gshadow"
	echo 'root:x:0:0:root:/root:/bin/sh' > "$SANDBOX/etc/passwd"
	echo 'root:*:19000:0:99999:7:::' > "$SANDBOX/etc/shadow"
	export UNIX_GROUP_ROOT=$SANDBOX UNIX_GROUP_PREFIX=hca_test_
	export UNIX_GROUP_STATE=$BATS_TEST_TMPDIR/state
	export HCA_PASS_ENV="UNIX_GROUP_ROOT UNIX_GROUP_PREFIX UNIX_GROUP_STATE UNIX_GROUP_QUOTA_FS UNIX_GROUP_SUDO"
	HOST_GROUPS=$(sha256sum /etc/group)
	LAB=urn:geant:helmholtz.de:group:climate-lab
}

teardown() {
	# Belt and braces: the hooks must never have made a group on the host.
	[ "$(id -u)" != 0 ] || assert_equal "$(sha256sum /etc/group)" "$HOST_GROUPS"
}

sandbox_group() {	# sandbox_group NAME: its line in the sandbox's group file
	grep "^$1:" "$SANDBOX/etc/group"
}

log_privileged() {	# groupadd, groupdel and setquota through a fake sudo that logs them
	cat > "$BATS_TEST_TMPDIR/fake-sudo" <<EOF
#!/bin/sh
echo "\$1" >> "$BATS_TEST_TMPDIR/sudo.calls"
exec "\$@"
EOF
	chmod 755 "$BATS_TEST_TMPDIR/fake-sudo"
	export UNIX_GROUP_SUDO=$BATS_TEST_TMPDIR/fake-sudo
}

allocate() {	# allocate NAME QUOTA_GB [ARGS...]
	local name=$1 quota=$2
	shift 2
	hca_dispatch ResourceAllocateV1 "$(hca_payload_group UnixGroupSpecV1 "$LAB" \
	    "{\"name\":\"$name\",\"quota_gb\":$quota}")" "$@"
}

@test "allocate makes the group with the prefix and answers its name" {
	allocate climate 50
	assert_success
	assert_reply_type ResourceCreatedV1
	assert_reply_field .id hca_test_climate
	run sandbox_group hca_test_climate
	assert_success
}

@test "without setquota the quota is recorded, and the log says so" {
	allocate climate 50
	assert_success
	run jq -c '[.quota_gb, .quota_fs]' "$UNIX_GROUP_STATE/hca_test_climate.json"
	assert_output '[50,null]'
	assert_hook_stderr "quota of 50 GB recorded"
}

@test "with setquota and UNIX_GROUP_QUOTA_FS the quota is set in KiB" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat > "$BATS_TEST_TMPDIR/bin/setquota" <<EOF
#!/bin/sh
echo "\$@" >> "$BATS_TEST_TMPDIR/setquota.calls"
EOF
	chmod 755 "$BATS_TEST_TMPDIR/bin/setquota"
	export HCA_HOOK_PATH=$BATS_TEST_TMPDIR/bin:/usr/bin:/bin
	export UNIX_GROUP_QUOTA_FS=/srv/projects
	allocate climate 2
	assert_success
	run cat "$BATS_TEST_TMPDIR/setquota.calls"
	assert_output "-g hca_test_climate 0 2097152 0 0 /srv/projects"
}

@test "privileged commands run through UNIX_GROUP_SUDO" {
	log_privileged
	allocate climate 5
	assert_success
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc hca_test_climate)"
	assert_success
	run cat "$BATS_TEST_TMPDIR/sudo.calls"
	assert_output $'groupadd\ngroupdel'
}

@test "a request that runs again gets the same group" {
	allocate climate 50 -i corr-1
	assert_success
	allocate climate 50 -i corr-1
	assert_success
	assert_reply_field .id hca_test_climate
	run grep -c '^hca_test_climate:' "$SANDBOX/etc/group"
	assert_output 1
}

@test "a name that another request took is ResourceExists" {
	allocate climate 50 -i corr-1
	allocate climate 10 -i corr-2
	assert_failure 1
	assert_error_type ResourceExists
	assert_error_message "a group named hca_test_climate exists already"
}

@test "a group made outside the hook is ResourceExists" {
	echo 'hca_test_climate:x:1234:' >> "$SANDBOX/etc/group"
	allocate climate 50
	assert_error_type ResourceExists
}

@test "a bad name is InvalidSpecification, and nothing is made" {
	allocate 'Root;x' 50
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message --partial "name must be"
	run cat "$SANDBOX/etc/group"
	assert_output 'root:x:0:'
}

@test "a name with a newline inside is InvalidSpecification, and nothing is made" {
	log_privileged
	allocate 'lab\nadmin' 50
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message --partial "name must be"
	assert [ ! -e "$BATS_TEST_TMPDIR/sudo.calls" ]
	assert [ ! -e "$UNIX_GROUP_STATE" ]
	run cat "$SANDBOX/etc/group"
	assert_output 'root:x:0:'
}

@test "a name with a trailing newline is InvalidSpecification, and nothing is made" {
	log_privileged
	allocate 'lab\n' 50
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message --partial "name must be"
	assert [ ! -e "$BATS_TEST_TMPDIR/sudo.calls" ]
	assert [ ! -e "$UNIX_GROUP_STATE" ]
	run cat "$SANDBOX/etc/group"
	assert_output 'root:x:0:'
}

@test "a quota of 0 GB is InvalidSpecification" {
	allocate climate 0
	assert_error_type InvalidSpecification
	assert_error_message "quota_gb must be a whole number from 1 to 10000"
}

@test "a quota of 1e20 GB is InvalidSpecification" {
	allocate climate 1e20
	assert_error_type InvalidSpecification
}

@test "deallocate removes the group and its record" {
	allocate climate 50
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc hca_test_climate)"
	assert_success
	assert_reply_type ResourceDeallocatedV1
	assert_reply_field .id hca_test_climate
	run sandbox_group hca_test_climate
	assert_failure
	assert [ ! -e "$UNIX_GROUP_STATE/hca_test_climate.json" ]
}

@test "deallocate of a group that is gone already succeeds" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc hca_test_gone)"
	assert_success
	assert_reply_field .id hca_test_gone
}

@test "deallocate refuses a group without the prefix" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc root)"
	assert_failure 1
	assert_error_type InvalidSpecification
	run sandbox_group root
	assert_success
}

@test "deallocate refuses an id with a newline inside, and removes nothing" {
	echo 'hca_test_lab:x:1234:' >> "$SANDBOX/etc/group"
	log_privileged
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc $'hca_test_lab\nroot')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert [ ! -e "$BATS_TEST_TMPDIR/sudo.calls" ]
	run cat "$SANDBOX/etc/group"
	assert_output $'root:x:0:\nhca_test_lab:x:1234:'
}

@test "deallocate refuses an id with a trailing newline, and removes nothing" {
	echo 'hca_test_lab:x:1234:' >> "$SANDBOX/etc/group"
	log_privileged
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc $'hca_test_lab\n')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert [ ! -e "$BATS_TEST_TMPDIR/sudo.calls" ]
	run cat "$SANDBOX/etc/group"
	assert_output $'root:x:0:\nhca_test_lab:x:1234:'
}

@test "the hooks are shellcheck-clean" {
	cd "$BATS_TEST_DIRNAME/hooks"
	run shellcheck ResourceAllocateV1/UnixGroupSpecV1 ResourceDeallocateV1
	assert_success
	assert_output ""
}
