#!/usr/bin/env bats
# What a hook's result becomes (hca-exec(8), RESULT MAPPING): every row of
# the exit-0 rules and of the exit-status table.
load lib/common

A=ResourceAllocateV1
GENERIC="The service could not complete this request. Please contact the service's support and quote reference"

# outhook SCRIPT-LINES...: a ResourceAllocateV1 default hook running them (sh).
outhook() {
	printf '%s\n' '#!/bin/sh' "$@" | mkhook $A/default
}

# alloc [ARGS...]: send {"type":"MapSpecV1"} to ResourceAllocateV1, corr c-map.
alloc() {
	dispatch_body '{"type":"MapSpecV1"}' $A -i c-map "$@"
}

# assert_hpe: the reply is ErrorV1 HookProtocolError with the generic message.
assert_hpe() {
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .payload.type HookProtocolError
	assert_reply .payload.message "$GENERIC c-map."
}

# --- exit 0 -------------------------------------------------------------------

@test "exit 0: a JSON object with an id is ResourceCreatedV1 with that id" {
	outhook "echo '{\"id\":\"team-7\"}'"
	alloc
	assert_success
	assert_equal "$output" '{"type":"ResourceCreatedV1","correlation_id":"c-map","payload":{"id":"team-7"}}'
}

@test "exit 0: fields the reply does not define are dropped, with a warning" {
	outhook "echo '{\"id\":\"team-7\",\"secret\":\"s\",\"url\":\"u\"}'"
	alloc
	assert_success
	assert_equal "$(replyc .payload)" '{"id":"team-7"}'
	assert_log 'level=warn corr=c-map kind=ResourceAllocateV1 msg="reply field \\"secret\\" is not part of ResourceCreatedV1; dropped"'
	assert_log 'msg="reply field \\"url\\" is not part of ResourceCreatedV1; dropped"'
}

@test "exit 0: an object without an id is HookProtocolError" {
	outhook "echo '{\"name\":\"x\"}'"
	alloc
	assert_hpe
}

@test "exit 0: an object whose id is a number is HookProtocolError" {
	outhook "echo '{\"id\":42}'"
	alloc
	assert_hpe
}

@test "exit 0: an object whose id is null is HookProtocolError" {
	outhook "echo '{\"id\":null}'"
	alloc
	assert_hpe
}

@test "exit 0: an object whose id is empty is HookProtocolError" {
	outhook "echo '{\"id\":\"\"}'"
	alloc
	assert_hpe
}

@test "exit 0: an id of 255 bytes is accepted" {
	id=$(printf 'i%.0s' {1..255})
	outhook "echo '{\"id\":\"$id\"}'"
	alloc
	assert_success
	assert_reply .payload.id "$id"
}

@test "exit 0: an id of 256 bytes is HookProtocolError" {
	id=$(printf 'i%.0s' {1..256})
	outhook "echo '{\"id\":\"$id\"}'"
	alloc
	assert_hpe
}

@test "exit 0: an id of 128 two-byte characters (256 bytes) is HookProtocolError" {
	id=$(printf 'é%.0s' {1..128})
	outhook "echo '{\"id\":\"$id\"}'"
	alloc
	assert_hpe
}

@test "exit 0: an id holding a newline is HookProtocolError" {
	outhook "echo '{\"id\":\"a\\\\nb\"}'"
	alloc
	assert_hpe
}

@test "exit 0: an id holding NUL is HookProtocolError" {
	outhook "echo '{\"id\":\"a\\\\u0000b\"}'"
	alloc
	assert_hpe
}

@test "exit 0: a JSON string is the id" {
	outhook "echo '\"vm 12 / eu\"'"
	alloc
	assert_success
	assert_reply .payload.id "vm 12 / eu"
}

@test "exit 0: a JSON string with escapes is decoded" {
	outhook "echo '\"caf\\\\u00e9-\\\\\"q\\\\\"\"'"
	alloc
	assert_success
	assert_reply .payload.id 'café-"q"'
}

@test "exit 0: one line of text is the id (echo \"\$id\")" {
	outhook 'id=team-42' 'echo "$id"'
	alloc
	assert_success
	assert_reply .payload.id team-42
}

@test "exit 0: echo 42 gives the id \"42\", a string" {
	outhook 'echo 42'
	alloc
	assert_success
	assert_equal "$(replyc .payload)" '{"id":"42"}'
}

@test "exit 0: the text id is trimmed of white space at both ends" {
	outhook "printf '\\n\\t  spaced id \\r\\n\\n'"
	alloc
	assert_success
	assert_reply .payload.id "spaced id"
}

@test "exit 0: a text id in UTF-8 is kept as it is" {
	outhook "echo 'Überseeprojekt-☃-©¡'"
	alloc
	assert_success
	assert_reply .payload.id 'Überseeprojekt-☃-©¡'
}

@test "exit 0: empty stdout is HookProtocolError when the reply needs an id" {
	outhook 'exit 0'
	alloc
	assert_hpe
	assert_log 'hook protocol error: exit 0 with empty stdout'
}

@test "exit 0: white space only on stdout is HookProtocolError" {
	outhook "printf ' \\n\\n  \\n'"
	alloc
	assert_hpe
}

@test "exit 0: a JSON array is HookProtocolError" {
	outhook "echo '[\"a\"]'"
	alloc
	assert_hpe
}

@test "exit 0: invalid JSON that starts like an object is HookProtocolError" {
	outhook "echo '{\"id\":\"a\"'"
	alloc
	assert_hpe
}

@test "exit 0: two JSON objects are HookProtocolError" {
	outhook "echo '{\"id\":\"a\"}{\"id\":\"b\"}'"
	alloc
	assert_hpe
}

@test "exit 0: two JSON objects on two lines are HookProtocolError" {
	outhook "echo '{\"id\":\"a\"}'" "echo '{\"id\":\"b\"}'"
	alloc
	assert_hpe
}

@test "exit 0: two JSON strings are HookProtocolError" {
	outhook "echo '\"a\" \"b\"'"
	alloc
	assert_hpe
}

@test "exit 0: a JSON object followed by text is HookProtocolError" {
	outhook "echo '{\"id\":\"a\"} and more'"
	alloc
	assert_hpe
}

@test "exit 0: JSON nested 100000 deep is HookProtocolError, not a crash" {
	outhook 'head -c 100000 /dev/zero | tr "\000" "["'
	alloc
	assert_hpe
}

@test "exit 0: two lines of text are HookProtocolError" {
	outhook 'echo first' 'echo second'
	alloc
	assert_hpe
}

@test "exit 0: text with a tab is HookProtocolError" {
	outhook "printf 'a\\tb\\n'"
	alloc
	assert_hpe
}

@test "exit 0: text with an escape character is HookProtocolError" {
	outhook "printf 'a\\033[31mb\\n'"
	alloc
	assert_hpe
}

@test "exit 0: text with a C1 control (U+0085, next line) is HookProtocolError" {
	outhook "printf 'a\\302\\205b\\n'"
	alloc
	assert_hpe
}

@test "exit 0: a JSON id with a C1 control (U+009B, CSI) is HookProtocolError" {
	outhook "echo '{\"id\":\"a\\\\u009b31mb\"}'"
	alloc
	assert_hpe
}

@test "exit 0: a JSON id with a right-to-left override (U+202E) is HookProtocolError" {
	# {"id":"\u202egnp.exe"} would show as "exe.png".
	outhook "echo '{\"id\":\"\\\\u202egnp.exe\"}'"
	alloc
	assert_hpe
}

@test "exit 0: text ids with bidi isolates or line separators are HookProtocolError" {
	# U+2066 (LRI), U+2069 (PDI), U+2028 (LS), U+2029 (PS), U+200F (RLM)
	for seq in '\342\201\246' '\342\201\251' '\342\200\250' '\342\200\251' '\342\200\217'; do
		outhook "printf 'team${seq}7\\n'"
		alloc
		assert_hpe
	done
}

@test "exit 0: two JSON documents parted by a record separator (0x1e) are HookProtocolError" {
	# libjq stops at the RS and would see only the first; jq sees both.
	outhook "printf '{\"id\":\"a\"}\\036{\"id\":\"b\"}\\n'"
	alloc
	assert_hpe
}

@test "exit 0: a text id of 256 bytes is HookProtocolError" {
	outhook "printf '%0256d\\n' 1"
	alloc
	assert_hpe
}

@test "exit 0: an empty JSON string is HookProtocolError" {
	outhook "echo '\"\"'"
	alloc
	assert_hpe
}

@test "exit 0: text that is not UTF-8 is HookProtocolError" {
	outhook "printf 'caf\\351\\n'"
	alloc
	assert_hpe
}

@test "exit 0: ResourceDeallocateV1 answers ResourceDeallocatedV1" {
	printf '%s\n' '#!/bin/sh' 'echo gone-1' | mkhook ResourceDeallocateV1
	dispatch_body '{"id":"gone-1"}' ResourceDeallocateV1 -i c-de
	assert_success
	assert_equal "$output" '{"type":"ResourceDeallocatedV1","correlation_id":"c-de","payload":{"id":"gone-1"}}'
}

@test "exit 0: ResourceUpdateV1 answers ResourceUpdatedV1" {
	printf '%s\n' '#!/bin/sh' "echo '{\"id\":\"up-1\"}'" | mkhook ResourceUpdateV1/default
	dispatch_body '{"type":"X"}' ResourceUpdateV1 -i c-up
	assert_success
	assert_equal "$output" '{"type":"ResourceUpdatedV1","correlation_id":"c-up","payload":{"id":"up-1"}}'
}

@test "exit 0: PingV1 keeps only message from an object" {
	printf '%s\n' '#!/bin/sh' "echo '{\"message\":\"all green\",\"id\":\"x\"}'" | mkhook PingV1
	dispatch_body '{}' PingV1
	assert_success
	assert_equal "$(replyc .payload)" '{"message":"all green"}'
	assert_log 'reply field \\"id\\" is not part of PingV1; dropped'
}

@test "exit 0: PingV1 text output becomes its message" {
	printf '%s\n' '#!/bin/sh' 'echo "3 workers up"' | mkhook PingV1
	dispatch_body '{}' PingV1
	assert_success
	assert_reply .payload.message "3 workers up"
}

# --- exit status not 0: the type ---------------------------------------------

# exits CODE TYPE: a hook that exits CODE (stdout empty) maps to TYPE with
# the generic message.
exits() {
	export HCA_RETRIES=0
	outhook "exit $1"
	alloc
	assert_failure 1
	assert_reply .type ErrorV1
	assert_reply .payload.type "$2"
	assert_reply .payload.message "$GENERIC c-map."
}

@test "exit 64 (EX_USAGE) is InvalidSpecification" {
	exits 64 InvalidSpecification
}

@test "exit 65 (EX_DATAERR) is InvalidSpecification" {
	exits 65 InvalidSpecification
}

@test "exit 67 (EX_NOUSER) is UnknownTarget" {
	exits 67 UnknownTarget
}

@test "exit 68 (EX_NOHOST) is UnknownTarget" {
	exits 68 UnknownTarget
}

@test "exit 69 (EX_UNAVAILABLE) is ServiceUnavailable" {
	exits 69 ServiceUnavailable
}

@test "exit 73 (EX_CANTCREAT) is ResourceExists" {
	exits 73 ResourceExists
}

@test "exit 75 (EX_TEMPFAIL) with no retries left is TemporaryFailure" {
	exits 75 TemporaryFailure
}

@test "exit 77 (EX_NOPERM) is PermissionDenied" {
	exits 77 PermissionDenied
}

@test "exit 78 (EX_CONFIG) is ConfigurationError" {
	exits 78 ConfigurationError
}

@test "exit 1 is HookFailed" {
	exits 1 HookFailed
}

@test "exit 66 (EX_NOINPUT, not in the table) is HookFailed" {
	exits 66 HookFailed
}

@test "exit 70 (EX_SOFTWARE, not in the table) is HookFailed" {
	exits 70 HookFailed
}

@test "exit 255 is HookFailed" {
	exits 255 HookFailed
}

@test "killed by SIGSEGV is HookCrashed" {
	fixture crash-segv $A/default
	alloc
	assert_failure 1
	assert_reply .payload.type HookCrashed
	assert_reply .payload.message "$GENERIC c-map."
	assert_log 'hook killed by signal 11'
}

@test "killed by SIGKILL (not the agent's) is HookCrashed" {
	fixture crash-kill $A/default
	alloc
	assert_failure 1
	assert_reply .payload.type HookCrashed
	assert_log 'hook killed by signal 9'
}

@test "killed after the time limit is Timeout" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0.2
	outhook 'sleep 10' 'echo late'
	alloc
	assert_failure 1
	assert_reply .payload.type Timeout
	assert_reply .payload.message "The service did not complete this request in time. Please contact the service's support and quote reference c-map."
}

@test "a hook that cannot be started is HookFailed, the reason only in the log" {
	printf '#!/nonexistent/interpreter\n' | mkhook $A/default
	alloc
	assert_failure 1
	assert_reply .payload.type HookFailed
	assert_reply .payload.message "$GENERIC c-map."
	assert_log "level=error corr=c-map kind=$A msg=\"cannot execute hook .*/$A/default: No such file or directory\""
	refute_output --partial "No such file"
	refute_output --partial nonexistent
}

@test "a hook that fails before exec is HookFailed, and the log names the step" {
	echo '#!/bin/sh
echo never' | mkhook $A/default
	# above the kernel's nr_open: setrlimit fails in the child, even as root
	export HCA_HOOK_RLIMIT_NOFILE=$(($(cat /proc/sys/fs/nr_open) + 1))
	alloc
	assert_failure 1
	assert_reply .payload.type HookFailed
	assert_log "cannot start hook .*/$A/default: setting its resource limits failed: Operation not permitted"
	refute_log 'cannot execute hook'
}

@test "a hook without #! line (ENOEXEC) is HookFailed" {
	printf 'echo hi\n' | mkhook $A/default
	alloc
	assert_failure 1
	assert_reply .payload.type HookFailed
	assert_log 'cannot execute hook .*Exec format error'
}

@test "stdout over HCA_MAX_OUTPUT is HookProtocolError" {
	export HCA_MAX_OUTPUT=100
	outhook "printf '%0100d\\n' 7"
	alloc
	assert_hpe
	assert_log 'hook stdout over 100 bytes'
}

@test "stdout of exactly HCA_MAX_OUTPUT bytes is accepted" {
	export HCA_MAX_OUTPUT=100
	outhook "printf '%099d\\n' 7"
	alloc
	assert_success
	assert_reply .payload.id "$(printf '%099d' 7)"
}

# --- exit status not 0: the type from stdout ----------------------------------

@test "failure: stdout's JSON type, a valid name, is the error type" {
	outhook "echo '{\"type\":\"QuotaExceeded\",\"message\":\"no more teams\"}'" 'exit 1'
	alloc
	assert_failure 1
	assert_equal "$(replyc .payload)" '{"type":"QuotaExceeded","message":"no more teams"}'
}

@test "failure: stdout's JSON type wins over the exit status" {
	outhook "echo '{\"type\":\"QuotaExceeded\"}'" 'exit 69'
	alloc
	assert_reply .payload.type QuotaExceeded
}

@test "failure: stdout's JSON type that is not a valid name falls back to the exit status" {
	outhook "echo '{\"type\":\"no such/type\",\"message\":\"m\"}'" 'exit 77'
	alloc
	assert_failure 1
	assert_reply .payload.type PermissionDenied
	assert_reply .payload.message m
}

@test "failure: stdout's JSON type that is not a string falls back to the exit status" {
	outhook "echo '{\"type\":7}'" 'exit 73'
	alloc
	assert_reply .payload.type ResourceExists
}

@test "failure: fields other than type and message are not in the reply" {
	outhook "echo '{\"type\":\"T\",\"message\":\"m\",\"trace\":\"internal\"}'" 'exit 1'
	alloc
	assert_equal "$(replyc '.payload|keys')" '["message","type"]'
}

# --- exit status not 0: the message ---------------------------------------------

@test "failure: stdout's JSON message is the message" {
	outhook "echo '{\"message\":\"team name taken\"}'" 'exit 73'
	alloc
	assert_reply .payload.type ResourceExists
	assert_reply .payload.message "team name taken"
}

@test "failure: a JSON string on stdout is the message" {
	outhook "echo '\"quota \\\\\"gold\\\\\" used up\"'" 'exit 69'
	alloc
	assert_reply .payload.message 'quota "gold" used up'
}

@test "failure: stdout's text, trimmed, is the message" {
	outhook "printf '\\n  Team name must not be empty.  \\n\\n'" 'exit 65'
	alloc
	assert_reply .payload.type InvalidSpecification
	assert_reply .payload.message "Team name must not be empty."
}

@test "failure: several lines of text are kept as the message" {
	outhook 'echo "line one"' 'echo "line two"' 'exit 65'
	alloc
	assert_reply .payload.message "line one
line two"
}

@test "failure: a message keeps newlines and tabs, and loses other controls and bidi characters" {
	outhook "printf 'bad\\342\\200\\256 name\\033[2J\\nline\\ttwo\\302\\205\\n'" 'exit 65'
	alloc
	assert_reply .payload.type InvalidSpecification
	assert_reply .payload.message "bad name[2J
line	two"
}

@test "failure: a JSON message loses bidi and C1 characters too" {
	outhook "echo '{\"message\":\"\\\\u202euser\\\\u0085 \\\\u2066name\\\\u2069\\\\nok\"}'" 'exit 1'
	alloc
	assert_reply .payload.message "user name
ok"
}

@test "failure: text that only looks like JSON is the message as it is" {
	outhook "echo '{not json'" 'exit 1'
	alloc
	assert_reply .payload.type HookFailed
	assert_reply .payload.message '{not json'
}

@test "failure: a long text message is cut to 1000 characters, not bytes" {
	# 1500 two-byte characters: a byte count would keep 500 of them.
	outhook "i=0; while [ \$i -lt 1500 ]; do printf 'é'; i=\$((i+1)); done" 'exit 1'
	alloc
	msg=$(reply .payload.message)
	assert_equal "${#msg}" 1000
	assert_equal "$msg" "$(printf 'é%.0s' {1..1000})"
}

@test "failure: a long JSON message is cut to 1000 characters" {
	long=$(printf '☃%.0s' {1..1200})
	outhook "echo '{\"message\":\"$long\"}'" 'exit 1'
	alloc
	msg=$(reply .payload.message)
	assert_equal "${#msg}" 1000
}

@test "failure: a message of exactly 1000 characters is kept whole" {
	long=$(printf 'm%.0s' {1..1000})
	outhook "echo '$long'" 'exit 1'
	alloc
	assert_reply .payload.message "$long"
}

@test "failure: empty stdout gives a generic message that names the correlation id" {
	outhook 'exit 77'
	dispatch_body '{"type":"MapSpecV1"}' $A -i ref-4711
	assert_reply .payload.message "$GENERIC ref-4711."
}

@test "failure: an empty JSON message gives the generic message" {
	outhook "echo '{\"type\":\"Busy\",\"message\":\"\"}'" 'exit 1'
	alloc
	assert_reply .payload.type Busy
	assert_reply .payload.message "$GENERIC c-map."
}

@test "failure: a message that is not a string gives the generic message" {
	outhook "echo '{\"message\":{\"nested\":1}}'" 'exit 1'
	alloc
	assert_reply .payload.message "$GENERIC c-map."
}

@test "failure: stdout that is not UTF-8 still gives a valid JSON reply" {
	outhook "printf 'caf\\351 failed\\n'" 'exit 1'
	alloc
	assert_failure 1
	run jq -e . <<<"$output"
	assert_success
}

# --- exit 75: retries ---------------------------------------------------------

# A hook that records HCA_ATTEMPT and the time of each run, then exits with
# the code given for that attempt (default 75).
retryhook() {
	mkhook $A/default <<EOF
#!/bin/sh
echo "\$HCA_ATTEMPT \$(date +%s%N)" >> '$BATS_TEST_TMPDIR/attempts'
case \$HCA_ATTEMPT in
$1
esac
exit 75
EOF
}

@test "exit 75: retried HCA_RETRIES (default 3) times, then TemporaryFailure" {
	retryhook ''
	alloc
	assert_failure 1
	assert_reply .payload.type TemporaryFailure
	run cut -d' ' -f1 "$BATS_TEST_TMPDIR/attempts"
	assert_output "1
2
3
4"
}

@test "exit 75: HCA_RETRIES=1 gives two runs" {
	export HCA_RETRIES=1
	retryhook ''
	alloc
	assert_reply .payload.type TemporaryFailure
	run cut -d' ' -f1 "$BATS_TEST_TMPDIR/attempts"
	assert_output "1
2"
}

@test "exit 75: HCA_RETRIES=0 gives one run" {
	export HCA_RETRIES=0
	retryhook ''
	alloc
	assert_reply .payload.type TemporaryFailure
	run wc -l < "$BATS_TEST_TMPDIR/attempts"
	assert_output 1
}

@test "exit 75: a retry that succeeds gives the success reply" {
	retryhook '3) echo third-time-lucky; exit 0 ;;'
	alloc
	assert_success
	assert_reply .payload.id third-time-lucky
	run wc -l < "$BATS_TEST_TMPDIR/attempts"
	assert_output 3
}

@test "exit 75: a retry that fails otherwise maps that failure, no more retries" {
	retryhook '2) exit 77 ;;'
	alloc
	assert_reply .payload.type PermissionDenied
	run wc -l < "$BATS_TEST_TMPDIR/attempts"
	assert_output 2
}

@test "exit 75: the retry delay starts at HCA_RETRY_DELAY and doubles" {
	export HCA_RETRY_DELAY=0.05
	retryhook ''
	alloc
	assert_reply .payload.type TemporaryFailure
	mapfile -t t < <(cut -d' ' -f2 "$BATS_TEST_TMPDIR/attempts")
	d1=$(((t[1] - t[0]) / 1000000))
	d2=$(((t[2] - t[1]) / 1000000))
	d3=$(((t[3] - t[2]) / 1000000))
	assert [ "$d1" -ge 50 ] && assert [ "$d1" -lt 1000 ]
	assert [ "$d2" -ge 100 ] && assert [ "$d2" -lt 1100 ]
	assert [ "$d3" -ge 200 ] && assert [ "$d3" -lt 1200 ]
}

@test "exit 75: each retry is logged with its attempt number" {
	export HCA_RETRIES=1
	retryhook ''
	alloc
	assert_log 'level=info corr=c-map kind=ResourceAllocateV1 msg="hook asked to retry \(exit 75\); attempt 2 of 2'
}
