#!/usr/bin/env bats
# The systemd unit in examples/systemd, as systemd itself reads it:
# systemd-analyze verify, which parses every line and checks the commands,
# without starting systemd.  It exits 0 on lines it ignores, so what it
# prints counts too.
load lib/common

setup() {
	common_setup
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/stage" \
	    PREFIX=/usr/local >&2
	UNIT=$BATS_TEST_TMPDIR/hca-exec.service
	# The unit names the installed binary: point it at the staged one.
	sed "s|^ExecStart=/usr/local/bin/|ExecStart=$BATS_TEST_TMPDIR/stage/usr/local/bin/|" \
	    "$TOP/examples/systemd/hca-exec.service" >"$UNIT"
}

verify() {
	run systemd-analyze verify --man=no "$1"
}

@test "systemd: the unit passes systemd-analyze verify without a word" {
	verify "$UNIT"
	assert_success
	assert_output ''
}

@test "systemd: a line systemd would ignore fails the check" {
	sed 's/^KillMode=/KillMod=/' "$UNIT" >"$BATS_TEST_TMPDIR/bad.service"
	verify "$BATS_TEST_TMPDIR/bad.service"
	assert_output --partial "Unknown key 'KillMod'"
}

@test "systemd: the unit's settings for the agent are ones hca-exec accepts" {
	# Every HCA_ variable the unit sets is one hca-exec knows.
	run sh -c "sed -n 's/^Environment=\(HCA_[A-Z_]*\)=.*/\1/p' '$UNIT'"
	assert_success
	[ "${#lines[@]}" -ge 4 ]
	for v in "${lines[@]}"; do
		"$HCA_EXEC" -h | grep -qw "$v" || fail "$v is not an hca-exec setting"
	done
}
