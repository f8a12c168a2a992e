#!/usr/bin/env bats
# Configuration: every HCA_* value is checked at start-up; a bad one stops
# hca-exec with exit 2 and a message that names the variable (or flag), and
# no request is handled.  Also the command line: usage, -h, unknown flags.
load lib/common

A=ResourceAllocateV1

# bad VAR VALUE MESSAGE-ERE: with VAR=VALUE, hca-exec -n exits 2, prints
# nothing on stdout, says "hca-exec: MESSAGE" on stderr, and runs no hook.
bad() {
	markhook "$HOOKS/$A/default"
	export "$1=$2"
	dispatch_body '{}' $A
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" "^hca-exec: $3"
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

# good VAR VALUE: with VAR=VALUE, a PingV1 is answered.
good() {
	export "$1=$2"
	dispatch_body '{}' PingV1
	assert_success
	assert_reply .payload.message "still alive"
}

@test "config: HCA_HOOK_TIMEOUT=abc is not a number of seconds" {
	bad HCA_HOOK_TIMEOUT abc 'HCA_HOOK_TIMEOUT=abc: not a number of seconds$'
}

@test "config: HCA_HOOK_TIMEOUT=0 is refused (below the minimum)" {
	bad HCA_HOOK_TIMEOUT 0 'HCA_HOOK_TIMEOUT=0: must be 0.001 to 86400 seconds$'
}

@test "config: HCA_HOOK_TIMEOUT=-1 is refused" {
	bad HCA_HOOK_TIMEOUT -1 'HCA_HOOK_TIMEOUT=-1: not a number of seconds'
}

@test "config: HCA_HOOK_TIMEOUT set but empty is refused" {
	bad HCA_HOOK_TIMEOUT '' 'HCA_HOOK_TIMEOUT=: not a number of seconds'
}

@test "config: HCA_HOOK_TIMEOUT=1e3 is refused" {
	bad HCA_HOOK_TIMEOUT 1e3 'HCA_HOOK_TIMEOUT=1e3: not a number of seconds'
}

@test "config: HCA_HOOK_TIMEOUT=5s (a unit) is refused" {
	bad HCA_HOOK_TIMEOUT 5s 'HCA_HOOK_TIMEOUT=5s: not a number of seconds'
}

@test "config: HCA_HOOK_TIMEOUT over a day is refused" {
	bad HCA_HOOK_TIMEOUT 86401 'HCA_HOOK_TIMEOUT=86401: must be'
}

@test "config: HCA_HOOK_TIMEOUT=0.5 (a decimal) is accepted" {
	good HCA_HOOK_TIMEOUT 0.5
}

@test "config: HCA_HOOK_GRACE=x is refused" {
	bad HCA_HOOK_GRACE x 'HCA_HOOK_GRACE=x: not a number of seconds'
}

@test "config: HCA_HOOK_GRACE=0 is accepted" {
	good HCA_HOOK_GRACE 0
}

@test "config: HCA_HOOK_GRACE=0.25 is accepted" {
	good HCA_HOOK_GRACE 0.25
}

@test "config: HCA_MAX_OUTPUT=x is not a size" {
	bad HCA_MAX_OUTPUT x 'HCA_MAX_OUTPUT=x: not a size in bytes'
}

@test "config: HCA_MAX_OUTPUT=0 is refused" {
	bad HCA_MAX_OUTPUT 0 'HCA_MAX_OUTPUT=0: must be 1 to'
}

@test "config: HCA_MAX_OUTPUT=1T (unknown suffix) is refused" {
	bad HCA_MAX_OUTPUT 1T 'HCA_MAX_OUTPUT=1T: not a size in bytes'
}

@test "config: HCA_MAX_OUTPUT over 64 MiB is refused" {
	bad HCA_MAX_OUTPUT 65M 'HCA_MAX_OUTPUT=65M: must be 1 to 67108864'
}

@test "config: HCA_MAX_OUTPUT=2K means 2048 bytes" {
	export HCA_MAX_OUTPUT=2K
	printf '#!/bin/sh\nhead -c %s /dev/zero | tr "\\000" m\nexit 1\n' 2048 | mkhook $A/default
	dispatch_body '{}' $A
	assert_reply .payload.type HookFailed
	printf '#!/bin/sh\nhead -c %s /dev/zero | tr "\\000" m\nexit 1\n' 2049 | mkhook $A/default
	dispatch_body '{}' $A
	assert_reply .payload.type HookProtocolError
}

@test "config: HCA_MAX_MESSAGE=x is not a size" {
	bad HCA_MAX_MESSAGE x 'HCA_MAX_MESSAGE=x: not a size in bytes'
}

@test "config: HCA_MAX_MESSAGE=-5 is refused" {
	bad HCA_MAX_MESSAGE -5 'HCA_MAX_MESSAGE=-5: not a size in bytes'
}

@test "config: HCA_RETRIES=-1 is refused" {
	bad HCA_RETRIES -1 'HCA_RETRIES=-1: not a whole number'
}

@test "config: HCA_RETRIES=1.5 is refused" {
	bad HCA_RETRIES 1.5 'HCA_RETRIES=1.5: not a whole number'
}

@test "config: HCA_RETRIES=101 is refused" {
	bad HCA_RETRIES 101 'HCA_RETRIES=101: must be 0 to 100'
}

@test "config: HCA_RETRY_DELAY=soon is refused" {
	bad HCA_RETRY_DELAY soon 'HCA_RETRY_DELAY=soon: not a number of seconds'
}

@test "config: HCA_LOG_LEVEL=loud is refused" {
	bad HCA_LOG_LEVEL loud 'HCA_LOG_LEVEL=loud: the level is error, warn, info or debug'
}

@test "config: HCA_LOG_LEVEL=warning (syslog's and Python's spelling) is warn" {
	mkhook $A/default <<'EOF'
#!/bin/sh
echo "an info line" >&2
echo ok
EOF
	for level in warning WARNING Warn; do
		HCA_LOG_LEVEL=$level dispatch_body '{}' $A
		assert_success
		refute_log 'an info line'
	done
	HCA_LOG_LEVEL=INFO dispatch_body '{}' $A
	assert_log 'an info line'
}

@test "config: HCA_LOG_FORMAT=xml is refused" {
	bad HCA_LOG_FORMAT xml 'HCA_LOG_FORMAT=xml: the format is kv or json'
}

@test "config: HCA_SERVICE=bad/name is refused" {
	bad HCA_SERVICE bad/name 'HCA_SERVICE=bad/name: a service id is'
}

@test "config: HCA_SERVICE with a space is refused" {
	bad HCA_SERVICE 'my service' 'HCA_SERVICE=my service: a service id is'
}

@test "config: HCA_SERVICE of 129 characters is refused" {
	bad HCA_SERVICE "$(printf 's%.0s' {1..129})" 'HCA_SERVICE=s+: a service id is'
}

@test "config: HCA_SERVICE set but empty is refused" {
	bad HCA_SERVICE '' 'HCA_SERVICE is empty'
}

@test "config: HCA_HOOK_PATH set but empty is refused" {
	bad HCA_HOOK_PATH '' 'HCA_HOOK_PATH is empty'
}

@test "config: HCA_LOG_FILE=/dev/stderr logs to the inherited stderr, a pipe too" {
	printf '#!/bin/sh\necho to-the-log >&2\necho ok\n' | mkhook $A/default
	run bash -c '"$1" -n '$A' -H "$2" --log-file /dev/stderr <<<"{}" 2>&1 | cat' - "$HCA_EXEC" "$HOOKS"
	assert_success
	assert_output --partial 'msg="hook: to-the-log"'
}

@test "config: HCA_LOG_FILE in a missing directory is refused" {
	bad HCA_LOG_FILE /nonexistent/dir/hca.log 'HCA_LOG_FILE=/nonexistent/dir/hca.log: /nonexistent: No such file or directory'
}

# agent_bad VAR VALUE MESSAGE-ERE: the agent (no -n) stops at start-up with
# exit 2 and "hca-exec: MESSAGE", before it reaches for any broker.
agent_bad() {
	export HCA_SERVICE=config-test "$1=$2"
	run --separate-stderr timeout 20 "$HCA_EXEC" -H "$HOOKS" </dev/null
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" "^hca-exec: $3"
}

@test "config: HCA_URL that is not an amqp URL is refused without echoing it" {
	agent_bad HCA_URL 'http://user:S3cretPass@host/' 'HCA_URL: not an amqp:// or amqps:// URL'
	refute_regex "$stderr" S3cretPass
}

@test "config: HCA_URL and HCA_URL_FILE together are refused" {
	echo amqp://u:p@localhost > "$BATS_TEST_TMPDIR/url"
	export HCA_URL_FILE=$BATS_TEST_TMPDIR/url
	agent_bad HCA_URL amqp://u:p@localhost 'HCA_URL and HCA_URL_FILE are both set'
}

@test "config: HCA_URL_FILE that does not exist is refused" {
	agent_bad HCA_URL_FILE /nonexistent/url 'HCA_URL_FILE=/nonexistent/url: No such file or directory'
}

@test "config: the agent without HCA_URL is refused, naming it" {
	agent_bad HCA_SERVICE config-test 'HCA_URL \(or HCA_URL_FILE\) is not set'
}

@test "config: offline mode ignores the broker settings, even malformed ones" {
	export HCA_URL='http://not-a-broker/' HCA_URL_FILE=/nonexistent/url
	dispatch_body '{}' PingV1
	assert_success
	assert_reply .payload.message "still alive"
}

@test "config: a flag value is checked like the variable (-t abc)" {
	dispatch_body '{}' PingV1 -t abc
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" '^hca-exec: --hook-timeout=abc: not a number of seconds'
}

@test "config: a flag overrides its variable" {
	export HCA_HOOK_TIMEOUT=0.1
	printf '#!/bin/sh\nsleep 0.3\necho slow-but-allowed\n' | mkhook $A/default
	dispatch_body '{}' $A -t 10
	assert_success
	assert_reply .payload.id slow-but-allowed
}

@test "config: an empty correlation id (-i '') is refused" {
	dispatch_body '{}' PingV1 -i ''
	assert_failure 2
	assert_regex "$stderr" '^hca-exec: --id is empty'
}

# --- the hooks directory --------------------------------------------------------

@test "config: -H naming a directory that does not exist is refused" {
	run --separate-stderr "$HCA_EXEC" -n PingV1 -H /nonexistent/hooks <<<'{}'
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" '^hca-exec: HCA_HOOKS_DIR=/nonexistent/hooks: No such file or directory'
}

@test "config: -H naming a file is refused" {
	touch "$BATS_TEST_TMPDIR/file"
	run --separate-stderr "$HCA_EXEC" -n PingV1 -H "$BATS_TEST_TMPDIR/file" <<<'{}'
	assert_failure 2
	assert_regex "$stderr" "^hca-exec: HCA_HOOKS_DIR=$BATS_TEST_TMPDIR/file: not a directory"
}

@test "config: HCA_HOOKS_DIR that does not exist is refused" {
	export HCA_HOOKS_DIR=/nonexistent/hooks
	run --separate-stderr "$HCA_EXEC" -n PingV1 <<<'{}'
	assert_failure 2
	assert_regex "$stderr" '^hca-exec: HCA_HOOKS_DIR=/nonexistent/hooks: No such file or directory'
}

@test "config: HCA_HOOKS_DIR names the hooks directory" {
	printf '#!/bin/sh\necho from-env-dir\n' | mkhook $A/default
	export HCA_HOOKS_DIR=$HOOKS
	cd /
	run --separate-stderr "$HCA_EXEC" -n $A <<<'{}'
	assert_success
	assert_reply .payload.id from-env-dir
}

@test "config: the hooks directory defaults to ./hooks" {
	printf '#!/bin/sh\necho from-cwd-hooks\n' | mkhook $A/default
	cd "$(dirname "$HOOKS")"
	run --separate-stderr "$HCA_EXEC" -n $A <<<'{}'
	assert_success
	assert_reply .payload.id from-cwd-hooks
}

@test "config: a relative -H is made absolute for the hook" {
	printf '#!/bin/sh\necho "$0"\n' | mkhook $A/default
	cd "$(dirname "$HOOKS")"
	run --separate-stderr "$HCA_EXEC" -n $A -H ./hooks <<<'{}'
	assert_success
	assert_reply .payload.id "$(cd "$HOOKS" && pwd -P)/$A/default"
}

# --- the command line -------------------------------------------------------------

@test "usage: an unknown flag exits 2 with the usage on stderr" {
	run --separate-stderr "$HCA_EXEC" -n PingV1 --bogus <<<'{}'
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" 'unknown option --bogus'
	assert_regex "$stderr" 'usage: hca-exec'
}

@test "usage: an unknown short flag exits 2" {
	run --separate-stderr "$HCA_EXEC" -n PingV1 -Z <<<'{}'
	assert_failure 2
	assert_regex "$stderr" 'usage: hca-exec'
}

@test "usage: a flag without its value exits 2" {
	run --separate-stderr "$HCA_EXEC" -n
	assert_failure 2
	assert_regex "$stderr" '-n needs a value'
}

@test "usage: a stray argument exits 2" {
	run --separate-stderr "$HCA_EXEC" -n PingV1 extra <<<'{}'
	assert_failure 2
	assert_regex "$stderr" 'unexpected argument extra'
}

@test "usage: -h prints the usage with the variables on stdout and exits 0" {
	run --separate-stderr "$HCA_EXEC" -h
	assert_success
	assert_line --partial 'hca-exec -n KIND [-i ID] [-H HOOKS]'
	for v in HCA_HOOKS_DIR HCA_SERVICE HCA_HOOK_TIMEOUT HCA_HOOK_GRACE \
	    HCA_MAX_OUTPUT HCA_MAX_MESSAGE HCA_RETRIES HCA_RETRY_DELAY \
	    HCA_LOG_LEVEL HCA_LOG_FORMAT HCA_URL HCA_URL_FILE HCA_HOOK_PATH \
	    HCA_PASS_ENV; do
		assert_line --regexp " $v "
	done
	assert_equal "$stderr" ''
}

@test "usage: the option table's columns line up, long variable names included" {
	run --separate-stderr "$HCA_EXEC" -h
	assert_success
	# flag (24), variable (22), default (6), text: every row's variable
	# starts in column 28, its default in 51, its text in 58
	run awk '/^  / && !/hca-exec/ {
		if (substr($0, 27, 1) != " " || substr($0, 50, 1) != " " ||
		    substr($0, 57, 1) != " " || substr($0, 58, 1) == " ")
			print "misaligned: " $0
		n++
	} END { print n " rows" }' <<<"$output"
	refute_line --partial misaligned
	assert_line --regexp '^[0-9]{2} rows$'
}

@test "usage: --help is -h" {
	run --separate-stderr "$HCA_EXEC" --help
	assert_success
	assert_line --partial 'usage: hca-exec'
}
