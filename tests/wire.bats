#!/usr/bin/env bats
# Following a different portal (hca-exec(8)): kinds added or changed by
# HCA_KINDS_FILE, and the kind carried where HCA_TYPE_FROM says, by the
# daemon against a real RabbitMQ and by the offline mode.
load lib/common
load lib/broker

setup() {
	broker_test_setup
	answer_id_hook
	mkhook ResourceMoveV1/default <<'EOF2'
#!/bin/sh
cat >/dev/null
echo "moved-$HCA_CORRELATION_ID $HCA_MESSAGE_TYPE"
EOF2
	KINDS=$BATS_TEST_TMPDIR/kinds
	cat >"$KINDS" <<'EOF2'
# request            reply              field    hook      fallback

ResourceMoveV1       ResourceMovedV1    id       required
PingV1               PongV1             message  optional  pong from the file
  # an indented comment
EOF2
	chmod 644 "$KINDS"
}

# stderr_has TEXT: the last run's stderr holds TEXT.
stderr_has() {
	[[ "$stderr" == *"$1"* ]] || { echo "stderr: $stderr" >&2; echo "wanted: $1" >&2; false; }
}

# kinds_error LINES...: the start-up error a kinds file of these lines gives.
kinds_error() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/bad"
	chmod 644 "$BATS_TEST_TMPDIR/bad"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/bad dispatch PingV1 </dev/null
}

@test "kinds file: a kind added by file runs its hook and gets its reply, through the broker" {
	HCA_KINDS_FILE=$KINDS agent_start --declare
	portal -t ResourceMoveV1 -i mv-1 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceMovedV1","correlation_id":"mv-1","payload":{"id":"moved-mv-1 ResourceMoveV1"}}'
	# A kind the file replaced: its reply and fallback, without a hook.
	portal -i p-1 ping
	assert_success
	assert_output '{"type":"PongV1","correlation_id":"p-1","payload":{"message":"pong from the file"}}'
	# The built-in ones stay.
	portal -i a-1 <<<'{"type":"X"}'
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"a-1","payload":{"id":"id-a-1"}}'
}

@test "kinds file: the offline mode knows the kinds it adds; without it they are unsupported" {
	HCA_KINDS_FILE=$KINDS dispatch ResourceMoveV1 -i mv-2 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceMovedV1","correlation_id":"mv-2","payload":{"id":"moved-mv-2 ResourceMoveV1"}}'
	dispatch ResourceMoveV1 -i mv-3 <<<'{"type":"X"}'
	assert_failure 1
	assert_output --partial '"type":"UnsupportedMessage"'
}

@test "kinds file: a kind whose hook is required has none: UnsupportedMessage" {
	rm -r "$HOOKS/ResourceMoveV1"
	HCA_KINDS_FILE=$KINDS dispatch ResourceMoveV1 -i mv-4 <<<'{}'
	assert_failure 1
	assert_output '{"type":"ErrorV1","correlation_id":"mv-4","payload":{"type":"UnsupportedMessage","message":"This service does not handle ResourceMoveV1 requests."}}'
}

@test "kinds file: each bad line is a start-up error that names the file and the line" {
	kinds_error 'ResourceMoveV1 ResourceMovedV1 id'
	assert_failure 2
	stderr_has "bad:1: expected: REQUEST REPLY FIELD required|optional [FALLBACK]"
	kinds_error '# fine' '' 'ResourceMoveV1 ResourceMovedV1 id sometimes'
	assert_failure 2
	stderr_has "bad:3: the fourth word is required or optional"
	kinds_error 'Resource/Move ResourceMovedV1 id required'
	assert_failure 2
	stderr_has "bad:1: a kind's name is a letter"
	kinds_error 'ResourceMoveV1 ErrorV1 id required'
	assert_failure 2
	stderr_has "bad:1: ErrorV1 is the error reply of every kind"
	kinds_error 'ResourceMoveV1 ResourceMovedV1 the-id required'
	assert_failure 2
	stderr_has "bad:1: a field's name is a letter or '_'"
	kinds_error 'A1 B1 id required' 'A1 C1 id required'
	assert_failure 2
	stderr_has "bad:2: A1 is on line 1 already"
	kinds_error 'NewV1 NewDoneV1 id optional'
	assert_failure 2
	stderr_has "bad:1: NewV1: a kind whose hook is optional needs a fallback"
	kinds_error "$(printf 'NewV1 NewDoneV1 message optional a\001b')"
	assert_failure 2
	stderr_has "bad:1: the fallback is at most 1000 bytes of printable text"
	kinds_error "A B id required $(head -c 5000 /dev/zero | tr '\0' x)"
	assert_failure 2
	stderr_has "bad:1: longer than 4096 bytes"
	printf 'A1 B1 id required\nA2 B2 id\0 required\n' >"$BATS_TEST_TMPDIR/bad"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/bad dispatch PingV1 </dev/null
	assert_failure 2
	stderr_has "bad:2: holds a NUL byte"
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$BATS_TEST_TMPDIR/bad"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/bad dispatch PingV1 </dev/null
	assert_failure 2
	stderr_has "larger than 1048576 bytes"
	mapfile -t many < <(for i in $(seq 1 29); do echo "K$i R$i id required"; done)
	kinds_error "${many[@]}"
	assert_failure 2
	stderr_has "bad:29: more than 32 kinds"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/none dispatch PingV1 </dev/null
	assert_failure 2
	stderr_has "HCA_KINDS_FILE=$BATS_TEST_TMPDIR/none"
}

@test "kinds file: one another user could change, or planted through a link in a directory others can write, is refused" {
	chmod 664 "$KINDS"
	HCA_KINDS_FILE=$KINDS dispatch PingV1 </dev/null
	assert_failure 2
	stderr_has "another user could change it"
	chmod 644 "$KINDS"
	# A directory anyone may write (not sticky): a link in it could be
	# swapped for one to any file.
	mkdir -m 777 "$BATS_TEST_TMPDIR/open"
	ln -s "$KINDS" "$BATS_TEST_TMPDIR/open/kinds"
	HCA_KINDS_FILE=$BATS_TEST_TMPDIR/open/kinds dispatch PingV1 </dev/null
	assert_failure 2
	stderr_has "HCA_KINDS_FILE=$BATS_TEST_TMPDIR/open/kinds"
	refute_output --partial PongV1
	# A fifo stands for a file that never ends: refused, not waited on.
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	run --separate-stderr timeout 5 env HCA_KINDS_FILE="$BATS_TEST_TMPDIR/fifo" "$HCA_EXEC" -n PingV1 -H "$HOOKS" </dev/null
	assert_failure 2
	stderr_has "fifo: not a regular file"
}

@test "type from header: the request's kind is read from a header, the reply's kind goes in one" {
	HCA_TYPE_FROM=header:x-hca-kind agent_start --declare
	HCA_TYPE_FROM=header:x-hca-kind portal -t ResourceAllocateV1 -i h-1 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"h-1","payload":{"id":"id-h-1"},"headers":{"x-hca-kind":"ResourceCreatedV1"}}'
	# The offline mode answers it alike.
	HCA_TYPE_FROM=header:x-hca-kind dispatch ResourceAllocateV1 -i h-1 <<<'{"type":"X"}'
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"h-1","payload":{"id":"id-h-1"},"headers":{"x-hca-kind":"ResourceCreatedV1"}}'
	# The type property is not read, nor set on the reply.
	portal -q -w 3 -i h-2 <<<'{"type":"X"}'
	assert_failure 1
	assert_output '{"type":null,"correlation_id":"h-2","payload":{"type":"InvalidRequest","message":"The request'"'"'s message type is missing or not a valid name."}}'
}

@test "type from body: the request's kind is a field of its body, the reply's kind one of the reply's" {
	HCA_TYPE_FROM=body:kind agent_start --declare
	HCA_TYPE_FROM=body:kind portal -t ResourceAllocateV1 -i b-1 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"b-1","payload":{"id":"id-b-1","kind":"ResourceCreatedV1"}}'
	# Sent with the kind in the body already, and no type property.
	HCA_TYPE_FROM=body:kind portal -i b-2 <<<'{"type":"X","kind":"ResourceAllocateV1"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"b-2","payload":{"id":"id-b-2","kind":"ResourceCreatedV1"}}'
	# Offline: --kind - reads it from the body, as the daemon does.
	HCA_TYPE_FROM=body:kind dispatch - -i b-2 <<<'{"type":"X","kind":"ResourceAllocateV1"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"b-2","payload":{"id":"id-b-2","kind":"ResourceCreatedV1"}}'
	# An error reply carries it too; a body without it is an invalid request.
	HCA_TYPE_FROM=body:kind portal -i b-3 <<<'{"type":"X"}'
	assert_failure 1
	assert_output '{"type":"ErrorV1","correlation_id":"b-3","payload":{"type":"InvalidRequest","message":"The request'"'"'s message type is missing or not a valid name.","kind":"ErrorV1"}}'
}

@test "type from body with a kinds file: both at once, daemon and offline" {
	HCA_KINDS_FILE=$KINDS HCA_TYPE_FROM=body:kind agent_start --declare
	HCA_TYPE_FROM=body:kind portal -t ResourceMoveV1 -i bm-1 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceMovedV1","correlation_id":"bm-1","payload":{"id":"moved-bm-1 ResourceMoveV1","kind":"ResourceMovedV1"}}'
	HCA_KINDS_FILE=$KINDS HCA_TYPE_FROM=body:kind dispatch - -i bm-1 <<<'{"type":"X","kind":"ResourceMoveV1"}'
	assert_success
	assert_output '{"type":"ResourceMovedV1","correlation_id":"bm-1","payload":{"id":"moved-bm-1 ResourceMoveV1","kind":"ResourceMovedV1"}}'
	HCA_KINDS_FILE=$KINDS HCA_TYPE_FROM=header:k dispatch PingV1 -i bm-2 </dev/null
	assert_success
	assert_output '{"type":"PongV1","correlation_id":"bm-2","payload":{"message":"pong from the file"},"headers":{"k":"PongV1"}}'
}

@test "type from property is the default: the same replies as without the setting" {
	HCA_TYPE_FROM=property agent_start --declare
	portal -i d-1 <<<'{"type":"X"}'
	assert_success
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"d-1","payload":{"id":"id-d-1"}}'
	HCA_TYPE_FROM=property dispatch ResourceAllocateV1 -i d-1 <<<'{"type":"X"}'
	assert_output '{"type":"ResourceCreatedV1","correlation_id":"d-1","payload":{"id":"id-d-1"}}'
}

@test "type from: bad settings are start-up errors" {
	for v in bogus header: body: body:1x body:type body:id body:message body:target_entity; do
		HCA_TYPE_FROM=$v dispatch - </dev/null
		assert_failure 2
		stderr_has "HCA_TYPE_FROM=$v: "
	done
	HCA_TYPE_FROM=body:kind dispatch ResourceAllocateV1 </dev/null
	assert_failure 2
	stderr_has "use --kind - to read it from there"
	dispatch - </dev/null
	assert_failure 2
	stderr_has "--kind -: only with HCA_TYPE_FROM=body:FIELD"
	# A field the kinds file gives a reply.
	echo "ResourceMoveV1 ResourceMovedV1 where required" >"$KINDS"
	HCA_KINDS_FILE=$KINDS HCA_TYPE_FROM=body:where dispatch - </dev/null
	assert_failure 2
	stderr_has "that field is a reply's own"
	# hca-portal refuses what hca-exec refuses, before it connects.
	HCA_TYPE_FROM=body:type portal -t ResourceAllocateV1 <<<'{"type":"X"}'
	assert_failure 2
	stderr_has "HCA_TYPE_FROM=body:type: that field is a request's or an ErrorV1's own"
}

@test "type from body: a body too large to read is answered as too large, through the broker and offline" {
	HCA_TYPE_FROM=body:kind HCA_MAX_MESSAGE=100 agent_start --declare
	big=$(printf '{"type":"X","pad":"%s"}' "$(head -c 2000 /dev/zero | tr '\0' x)")
	HCA_TYPE_FROM=body:kind portal -t ResourceAllocateV1 -i big-1 <<<"$big"
	assert_failure 1
	assert_output '{"type":"ErrorV1","correlation_id":"big-1","payload":{"type":"InvalidRequest","message":"The request is larger than this service accepts.","kind":"ErrorV1"}}'
	HCA_TYPE_FROM=body:kind HCA_MAX_MESSAGE=100 dispatch - -i big-2 <<<"${big%\}},\"kind\":\"ResourceAllocateV1\"}"
	assert_failure 1
	assert_output --partial '"message":"The request is larger than this service accepts."'
}
