#!/usr/bin/env bats
# Logging: one line per event on stderr, key=value or JSON; every line about
# a request carries its correlation id and kind; a hook's stderr is logged
# line by line and never reaches a reply; the broker URL's secret appears
# nowhere.
load lib/common

A=ResourceAllocateV1
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# chatty: a hook that logs two stderr lines and answers with an id.
chatty() {
	mkhook $A/default <<'EOF'
#!/bin/sh
echo "first stderr line" >&2
echo "second stderr line" >&2
echo chat-1
EOF
}

# every_line ERE: every log line matches.
every_line() {
	local bad
	[ -n "$stderr" ] || fail "no log at all"
	if bad=$(grep -Ev -- "$1" <<<"$stderr"); then
		batslib_print_kv_single_or_multi 8 regexp "$1" lines "$bad" |
		    batslib_decorate 'log lines do not match' | fail
	fi
}

# --- the formats ----------------------------------------------------------------

@test "log kv: every line is ts=... level=... with a UTC timestamp" {
	chatty
	dispatch_body '{}' $A -i c-log
	assert_success
	every_line "^ts=$TS level=(error|warn|info|debug) "
}

@test "log kv: every line of a request carries corr= and kind=" {
	chatty
	dispatch_body '{"type":"LogSpecV1"}' $A -i c-log
	assert_success
	every_line "^ts=$TS level=[a-z]+ corr=c-log kind=$A msg=\".*\"\$"
}

@test "log kv: the request, the hook run and the reply are logged" {
	chatty
	dispatch_body '{}' $A -i c-log
	assert_log 'level=info corr=c-log kind=ResourceAllocateV1 msg="request received, 3 bytes"'
	assert_log "msg=\"running $BATS_TEST_TMPDIR/.*/$A/default \\(attempt 1\\)\""
	assert_log 'msg="hook exited 0 after [0-9]+ ms, 7 bytes of output"'
	assert_log 'msg="reply ResourceCreatedV1 after [0-9]+ ms"'
}

@test "log kv: an ErrorV1 reply is logged with its type" {
	printf '#!/bin/sh\nexit 77\n' | mkhook $A/default
	dispatch_body '{}' $A -i c-log
	assert_log 'level=info corr=c-log kind=ResourceAllocateV1 msg="reply ErrorV1 PermissionDenied after [0-9]+ ms"'
}

@test "log kv: a correlation id with spaces and quotes is quoted and escaped" {
	chatty
	dispatch_body '{}' $A -i 'c "9" x'
	assert_success
	every_line '^ts=[^ ]+ level=[a-z]+ corr="c \\"9\\" x" kind='
}

@test "log json: every line is a JSON object with ts, level, corr, kind and msg" {
	export HCA_LOG_FORMAT=json
	chatty
	dispatch_body '{"type":"LogSpecV1"}' $A -i c-json
	assert_success
	[ -n "$stderr" ]
	run jq -se --arg ts "^$TS\$" 'length > 3 and all(.[];
	    type == "object" and (.ts | test($ts)) and
	    (.level | IN("error", "warn", "info", "debug")) and
	    .corr == "c-json" and .kind == "ResourceAllocateV1" and
	    (.msg | type == "string"))' <<<"$stderr"
	assert_success
}

@test "log json: each line holds exactly one JSON value" {
	export HCA_LOG_FORMAT=json
	chatty
	dispatch_body '{}' $A -i c-json
	while IFS= read -r line; do
		run jq -ce . <<<"$line"
		assert_success
		assert_equal "${#lines[@]}" 1
	done <<<"$stderr"
}

@test "log json: a hook's stderr line is msg \"hook: <line>\" with corr and kind" {
	export HCA_LOG_FORMAT=json
	chatty
	dispatch_body '{}' $A -i c-json
	run jq -rc 'select(.msg | startswith("hook: ")) | [.level, .corr, .kind, .msg] | join("|")' <<<"$stderr"
	assert_output "info|c-json|ResourceAllocateV1|hook: first stderr line
info|c-json|ResourceAllocateV1|hook: second stderr line"
}

# --- levels --------------------------------------------------------------------

@test "log level: info is the default and shows info lines" {
	chatty
	dispatch_body '{}' $A
	assert_log ' level=info '
}

@test "log level: warn hides info lines" {
	export HCA_LOG_LEVEL=warn
	printf '#!/bin/sh\necho "noise" >&2\necho '"'"'{"id":"a","extra":1}'"'"'\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	refute_log ' level=info '
	refute_log 'hook: noise'
}

@test "log level: warn still shows warnings" {
	export HCA_LOG_LEVEL=warn
	printf '#!/bin/sh\necho '"'"'{"id":"a","extra":1}'"'"'\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	assert_log ' level=warn .*reply field \\"extra\\" is not part of ResourceCreatedV1; dropped'
}

@test "log level: error hides warnings and shows errors" {
	export HCA_LOG_LEVEL=error
	markhook "$HOOKS/$A/ChatSpecV1"
	chmod 644 "$HOOKS/$A/ChatSpecV1"	# a warning: skipped
	markhook "$HOOKS/$A/default"
	chmod 777 "$HOOKS/$A/default"		# an error: refused
	dispatch_body '{"type":"ChatSpecV1"}' $A
	assert_failure 1
	refute_log ' level=warn '
	assert_log ' level=error .*refused'
}

@test "log level: debug shows debug lines" {
	export HCA_LOG_LEVEL=debug
	chatty
	dispatch_body '{}' $A
	assert_log ' level=debug .*msg="hook .* started, pid [0-9]+"'
}

@test "log level: the -l flag sets the level" {
	chatty
	dispatch_body '{}' $A -l warn
	assert_success
	refute_log ' level=info '
}

@test "log file: HCA_LOG_FILE takes the log instead of stderr" {
	export HCA_LOG_FILE=$BATS_TEST_TMPDIR/hca.log
	chatty
	dispatch_body '{}' $A -i c-file
	assert_success
	assert_equal "$stderr" ''
	run grep -c 'corr=c-file kind=ResourceAllocateV1 msg="hook: first stderr line"' "$HCA_LOG_FILE"
	assert_output 1
}

# --- the hook's stderr -----------------------------------------------------------

@test "hook stderr: logged line by line, in order, tagged with corr and kind" {
	chatty
	dispatch_body '{}' $A -i c-err
	run grep -E 'msg="hook: ' <<<"$stderr"
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" "^ts=$TS level=info corr=c-err kind=$A msg=\"hook: first stderr line\"\$"
	assert_regex "${lines[1]}" "^ts=$TS level=info corr=c-err kind=$A msg=\"hook: second stderr line\"\$"
}

@test "hook stderr: a last line without a newline is logged too" {
	printf '#!/bin/sh\nprintf "unfinished" >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A -i c-err
	assert_log 'corr=c-err kind=ResourceAllocateV1 msg="hook: unfinished"$'
}

@test "hook stderr: quotes and backslashes are escaped in a key=value line" {
	printf '#!/bin/sh\nprintf %%s\\\\n '"'"'say "hi" \\ there'"'"' >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_log 'msg="hook: say \\"hi\\" \\\\ there"$'
}

@test "hook stderr: control bytes and bad UTF-8 stay on one key=value line" {
	printf '#!/bin/sh\nprintf "a\\033[31mb\\rc\\001d\\377e\\0f\\n" >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A -i c-ctl
	assert_success
	run grep -c 'msg="hook: ' <<<"$stderr"
	assert_output 1
	assert_log 'msg="hook: a\\x1b\[31mb\\x0dc\\x01d\\xffe\\x00f"$'
	every_line '^ts='
}

@test "hook stderr: C1 controls (NEL, CSI) are escaped in a key=value line" {
	printf '#!/bin/sh\nprintf "a\\302\\205b\\302\\233c \\302\\251\\n" >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	assert_log 'msg="hook: a\\xc2\\x85b\\xc2\\x9bc ©"$'
}

@test "hook stderr: C1 controls are \\u escapes in a JSON line" {
	export HCA_LOG_FORMAT=json
	printf '#!/bin/sh\nprintf "a\\302\\205b \\302\\251\\n" >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	assert_log '"msg":"hook: a\\u0085b ©"'
}

@test "hook stderr: nasty lines give valid JSON log lines" {
	export HCA_LOG_FORMAT=json
	mkhook $A/default <<'EOF'
#!/bin/sh
printf 'quote " backslash \\ tab \t cr \r esc \033 nul \0 bad \377\376 ok \303\251\n' >&2
printf '{"json":"with \\n inside","k":[1,2]}\n' >&2
printf '}{"msg":"injected","level":"error"}\n' >&2
printf '\342\230' >&2
echo x
EOF
	dispatch_body '{}' $A -i c-nasty
	assert_success
	run jq -se 'all(.[]; type == "object" and .corr == "c-nasty")' <<<"$stderr"
	assert_success
	run jq -r 'select(.msg | startswith("hook: ")) | .msg' <<<"$stderr"
	assert_equal "${#lines[@]}" 4
	assert_equal "${lines[0]}" "$(printf 'hook: quote " backslash \\ tab \t cr \r esc \033 nul \000 bad \357\277\275\357\277\275 ok \303\251' | tr -d '\000')"
	assert_equal "${lines[1]}" 'hook: {"json":"with \n inside","k":[1,2]}'
	assert_equal "${lines[2]}" 'hook: }{"msg":"injected","level":"error"}'
	run jq -r 'select(.level == "error") | .msg' <<<"$stderr"
	assert_output ''
}

@test "hook stderr: a line that forges a log line stays inside msg" {
	printf '#!/bin/sh\necho '"'"'x" level=error corr=forged msg="pwned'"'"' >&2\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A -i c-forge
	assert_log '^ts=[^ ]+ level=info corr=c-forge kind=ResourceAllocateV1 msg="hook: x\\" level=error corr=forged msg=\\"pwned"$'
	refute_log '^ts=[^ ]+ level=error'
}

# --- stderr never reaches the reply ---------------------------------------------

@test "hook stderr: not in a success reply" {
	printf '#!/bin/sh\necho "STDERR-MARK" >&2\necho ok-id\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	refute_output --partial STDERR-MARK
	assert_log 'hook: STDERR-MARK'
}

@test "hook stderr: not in the message of a failure with empty stdout" {
	printf '#!/bin/sh\necho "STDERR-MARK" >&2\nexit 1\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_failure 1
	refute_output --partial STDERR-MARK
}

@test "hook stderr: not in the message of a failure with text on stdout" {
	printf '#!/bin/sh\necho "STDERR-MARK" >&2\necho "user message"\nexit 65\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_reply .payload.message "user message"
	refute_output --partial STDERR-MARK
}

@test "hook stderr: not in a HookProtocolError reply" {
	printf '#!/bin/sh\necho "STDERR-MARK" >&2\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_reply .payload.type HookProtocolError
	refute_output --partial STDERR-MARK
}

@test "hook stderr: not in a Timeout reply" {
	export HCA_HOOK_TIMEOUT=0.3 HCA_HOOK_GRACE=0.1
	printf '#!/bin/sh\necho "STDERR-MARK" >&2\nexec sleep 10\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_reply .payload.type Timeout
	refute_output --partial STDERR-MARK
}

# --- the broker URL is a secret ---------------------------------------------------

@test "secret: the HCA_URL password is in no log line and no reply, even at debug" {
	export HCA_URL=amqp://user:S3cretPass@localhost:5672/vhost HCA_LOG_LEVEL=debug
	printf '#!/bin/sh\necho "hook ran" >&2\nexit 1\n' | mkhook $A/default
	dispatch_body '{"type":"X"}' $A
	assert_failure 1
	assert_log 'hook ran'
	refute_output --partial S3cretPass
	refute_log S3cretPass
}

@test "secret: the HCA_URL password is in no log line in JSON format" {
	export HCA_URL=amqps://user:S3cretPass@localhost/ HCA_LOG_FORMAT=json HCA_LOG_LEVEL=debug
	printf '#!/bin/sh\necho x\n' | mkhook $A/default
	dispatch_body '{}' $A
	assert_success
	refute_log S3cretPass
}

@test "secret: a hook cannot read the password from the agent's /proc environ or cmdline" {
	export HCA_URL=amqp://user:S3cretPass@localhost/
	mkhook $A/default <<'EOF'
#!/bin/sh
if tr '\000' '\n' < /proc/$PPID/environ | grep -q S3cretPass ||
    tr '\000' '\n' < /proc/$PPID/cmdline | grep -q S3cretPass; then
	echo leaked
else
	echo clean
fi
EOF
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id clean
}

@test "secret: the password from HCA_URL_FILE is in no log line and not in the hook's environment" {
	echo amqp://user:S3cretPass@localhost/ > "$BATS_TEST_TMPDIR/url"
	export HCA_URL_FILE=$BATS_TEST_TMPDIR/url HCA_LOG_LEVEL=debug
	envhook $A/default
	dispatch_body '{}' $A
	assert_success
	refute_log S3cretPass
	run grep -c -e S3cretPass -e HCA_URL "$HOOK_ENV"
	assert_output 0
}
