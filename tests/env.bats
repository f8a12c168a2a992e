#!/usr/bin/env bats
# How a hook runs (hca-exec(8), HOOKS, "How it runs" and "Environment"): its environment,
# variable by variable, HCA_PASS_ENV and what it may never pass, and the
# process it runs in (session, working directory, argv, descriptors,
# signals).
load lib/common

A=ResourceAllocateV1

setup_file() {
	if command -v cc >/dev/null; then
		cc -o "$BATS_FILE_TMPDIR/probe" "$BATS_TEST_DIRNAME/fixtures/probe.c"
	fi
}

# envrun [ARGS...]: an environment-saving hook for ResourceAllocateV1, run
# with the body {"type":"EnvSpecV1"} and correlation id c-env.
envrun() {
	envhook $A/default
	dispatch_body '{"type":"EnvSpecV1"}' $A -i c-env "$@"
	assert_success
	assert_reply .payload.id env
}

# assert_env NAME VALUE / refute_env NAME
assert_env() {
	local v
	v=$(hook_env "$1") || fail "the hook did not get $1"
	assert_equal "$v" "$2"
}

refute_env() {
	if hook_env "$1" >/dev/null; then
		fail "the hook got $1=$(hook_env "$1")"
	fi
}

# --- the clean environment ----------------------------------------------------

@test "env: exactly the documented variables reach the hook" {
	export FOO=bar HCA_URL=amqp://user:pw@localhost HCA_HOOK_TIMEOUT=60
	for v in $(compgen -e); do
		case $v in LANG|LC_*|TZ) unset "$v" ;; esac
	done
	envrun
	run cut -d= -f1 "$HOOK_ENV"
	run sort <<<"$output"
	assert_output "HCA_ATTEMPT
HCA_CORRELATION_ID
HCA_DEADLINE
HCA_MESSAGE_TYPE
HCA_REDELIVERED
HCA_RESOURCE_TYPE
HCA_SERVICE
HOME
PATH"
}

@test "env: a random variable of the agent's (FOO) does not reach the hook" {
	export FOO=bar
	envrun
	refute_env FOO
}

@test "env: HCA_URL of the agent never reaches the hook" {
	export HCA_URL=amqp://user:S3cretPass@localhost/vh
	envrun
	refute_env HCA_URL
	run grep -c S3cretPass "$HOOK_ENV"
	assert_output 0
}

@test "env: HCA_URL_FILE of the agent does not reach the hook" {
	echo amqp://user:pw@localhost > "$BATS_TEST_TMPDIR/url"
	export HCA_URL_FILE=$BATS_TEST_TMPDIR/url
	envrun
	refute_env HCA_URL_FILE
}

@test "env: the agent's own settings (HCA_HOOK_TIMEOUT, HCA_PASS_ENV) do not reach the hook" {
	export HCA_HOOK_TIMEOUT=60 HCA_PASS_ENV=FOO FOO=1
	envrun
	refute_env HCA_HOOK_TIMEOUT
	refute_env HCA_PASS_ENV
}

@test "env: LD_LIBRARY_PATH of the agent does not reach the hook" {
	export LD_LIBRARY_PATH=/nonexistent/lib
	envrun
	refute_env LD_LIBRARY_PATH
}

@test "env: PATH is /usr/local/bin:/usr/bin:/bin by default, not the agent's" {
	export PATH=/opt/agent/bin:$PATH
	envrun
	assert_env PATH /usr/local/bin:/usr/bin:/bin
}

@test "env: PATH is HCA_HOOK_PATH when that is set" {
	export HCA_HOOK_PATH=/opt/hooks/bin:/usr/bin:/bin
	envrun
	assert_env PATH /opt/hooks/bin:/usr/bin:/bin
}

@test "env: HOME is the agent's HOME" {
	export HOME=$BATS_TEST_TMPDIR/home
	envrun
	assert_env HOME "$BATS_TEST_TMPDIR/home"
}

@test "env: HOME falls back to the agent user's home directory" {
	unset HOME
	envrun
	assert_env HOME "$(getent passwd "$(id -u)" | cut -d: -f6)"
}

@test "env: LANG, LC_* and TZ are passed when set" {
	export LANG=de_DE.UTF-8 LC_TIME=C LC_ALL=C.UTF-8 TZ=Europe/Berlin
	envrun
	assert_env LANG de_DE.UTF-8
	assert_env LC_TIME C
	assert_env LC_ALL C.UTF-8
	assert_env TZ Europe/Berlin
}

@test "env: LANG and TZ are absent when the agent has none" {
	unset LANG TZ
	envrun
	refute_env LANG
	refute_env TZ
}

# --- the request's variables ----------------------------------------------------

@test "env: HCA_MESSAGE_TYPE is the request kind" {
	envhook ResourceDeallocateV1
	dispatch_body '{"id":"x"}' ResourceDeallocateV1
	assert_success
	assert_env HCA_MESSAGE_TYPE ResourceDeallocateV1
}

@test "env: HCA_CORRELATION_ID is the request's correlation id" {
	envrun
	assert_env HCA_CORRELATION_ID c-env
}

@test "env: without -i, HCA_CORRELATION_ID is a new UUID, the same as the reply's" {
	envhook $A/default
	dispatch_body '{}' $A
	assert_success
	corr=$(reply .correlation_id)
	assert_regex "$corr" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	assert_env HCA_CORRELATION_ID "$corr"
}

@test "env: HCA_RESOURCE_TYPE is the body's type" {
	envrun
	assert_env HCA_RESOURCE_TYPE EnvSpecV1
}

@test "env: HCA_RESOURCE_TYPE is absent when the body has no type" {
	envhook $A/default
	dispatch_body '{"specification":{}}' $A
	assert_success
	refute_env HCA_RESOURCE_TYPE
}

@test "env: HCA_TARGET_USER and HCA_TARGET_GROUP come from target_entity" {
	envhook $A/default
	dispatch_body '{"type":"EnvSpecV1","target_entity":{"user_id_target":"u-123@idp.example","group_urn_target":"urn:geant:helmholtz.de:group:lab#login.helmholtz.de"}}' $A
	assert_success
	assert_env HCA_TARGET_USER u-123@idp.example
	assert_env HCA_TARGET_GROUP "urn:geant:helmholtz.de:group:lab#login.helmholtz.de"
}

@test "env: a null target user or group is absent, not empty" {
	envhook $A/default
	dispatch_body '{"type":"EnvSpecV1","target_entity":{"user_id_target":null,"group_urn_target":"g"}}' $A
	assert_success
	refute_env HCA_TARGET_USER
	assert_env HCA_TARGET_GROUP g
}

@test "env: no target_entity, no HCA_TARGET_USER or HCA_TARGET_GROUP" {
	envrun
	refute_env HCA_TARGET_USER
	refute_env HCA_TARGET_GROUP
}

@test "env: HCA_SERVICE is \"offline\" in offline mode without HCA_SERVICE" {
	envrun
	assert_env HCA_SERVICE offline
}

@test "env: HCA_SERVICE is the configured service id" {
	export HCA_SERVICE=chat.example-1
	envrun
	assert_env HCA_SERVICE chat.example-1
}

@test "env: HCA_SERVICE follows the -s flag" {
	envrun -s flag-service
	assert_env HCA_SERVICE flag-service
}

@test "env: HCA_REDELIVERED is 0 in offline mode" {
	envrun
	assert_env HCA_REDELIVERED 0
}

@test "env: HCA_ATTEMPT is 1 on the first run" {
	envrun
	assert_env HCA_ATTEMPT 1
}

@test "env: HCA_DEADLINE is the Unix time now plus the time limit" {
	export HCA_HOOK_TIMEOUT=100
	before=$(date +%s)
	envrun
	after=$(date +%s)
	d=$(hook_env HCA_DEADLINE)
	assert [ "$d" -ge $((before + 100)) ]
	assert [ "$d" -le $((after + 101)) ]
}

@test "env: HCA_DEADLINE follows a decimal time limit (0.9 s rounds up to 1 s)" {
	export HCA_HOOK_TIMEOUT=0.9
	before=$(date +%s)
	envrun
	after=$(date +%s)
	d=$(hook_env HCA_DEADLINE)
	assert [ "$d" -ge "$before" ]
	assert [ "$d" -le $((after + 1)) ]
}

# --- HCA_PASS_ENV ------------------------------------------------------------

@test "pass env: a named variable reaches the hook" {
	export HCA_PASS_ENV=FOO FOO='a value with spaces = and more'
	envrun
	assert_env FOO 'a value with spaces = and more'
}

@test "pass env: names separated by commas" {
	export HCA_PASS_ENV=FOO,BAR FOO=1 BAR=2 BAZ=3
	envrun
	assert_env FOO 1
	assert_env BAR 2
	refute_env BAZ
}

@test "pass env: names separated by spaces" {
	export HCA_PASS_ENV='FOO BAR' FOO=1 BAR=2
	envrun
	assert_env FOO 1
	assert_env BAR 2
}

@test "pass env: names separated by commas and spaces together" {
	export HCA_PASS_ENV='FOO, BAR ,BAZ' FOO=1 BAR=2 BAZ=3
	envrun
	assert_env FOO 1
	assert_env BAR 2
	assert_env BAZ 3
}

@test "pass env: a named variable that is not set is absent" {
	export HCA_PASS_ENV=FOO,NOT_SET_ANYWHERE FOO=1
	unset NOT_SET_ANYWHERE
	envrun
	assert_env FOO 1
	refute_env NOT_SET_ANYWHERE
}

@test "pass env: a variable set to the empty string is passed empty" {
	export HCA_PASS_ENV=FOO FOO=
	envrun
	assert_env FOO ''
}

# refused NAME: HCA_PASS_ENV=NAME stops hca-exec at start-up: exit 2, a
# message naming NAME, no reply and no hook run.
refused() {
	markhook "$HOOKS/$A/default"
	export HCA_PASS_ENV="FOO,$1"
	dispatch_body '{}' $A
	assert_failure 2
	assert_output ''
	assert_regex "$stderr" "^hca-exec: HCA_PASS_ENV: $1 .*never passed to hooks"
	assert [ ! -e "$HOOKS/$A/default.ran" ]
}

@test "pass env: LD_PRELOAD is refused" {
	refused LD_PRELOAD
}

@test "pass env: LD_LIBRARY_PATH (any LD_*) is refused" {
	refused LD_LIBRARY_PATH
}

@test "pass env: BASH_ENV is refused" {
	refused BASH_ENV
}

@test "pass env: ENV is refused" {
	refused ENV
}

@test "pass env: IFS is refused" {
	refused IFS
}

@test "pass env: HTTPS_PROXY is refused" {
	refused HTTPS_PROXY
}

@test "pass env: http_proxy is refused" {
	refused http_proxy
}

@test "pass env: no_proxy is refused" {
	refused no_proxy
}

@test "pass env: HCA_URL is refused" {
	refused HCA_URL
}

@test "pass env: HCA_URL_FILE is refused" {
	refused HCA_URL_FILE
}

@test "pass env: PATH is refused" {
	refused PATH
}

@test "pass env: HOME is refused" {
	refused HOME
}

@test "pass env: HCA_CORRELATION_ID (set by hca-exec) is refused" {
	refused HCA_CORRELATION_ID
}

@test "pass env: HCA_ATTEMPT (set by hca-exec) is refused" {
	refused HCA_ATTEMPT
}

@test "pass env: HCA_SERVICE (set by hca-exec) is refused" {
	refused HCA_SERVICE
}

@test "pass env: HCA_DEADLINE (set by hca-exec) is refused" {
	refused HCA_DEADLINE
}

@test "pass env: a name that is not a variable name is refused" {
	refused 'FOO=1'
}

@test "pass env: a refused name is refused even when it is not set" {
	unset LD_PRELOAD
	refused LD_PRELOAD
}

# --- the process ---------------------------------------------------------------

# probe: run the compiled probe as the hook; it logs one fact a line.
probe() {
	[ -x "$BATS_FILE_TMPDIR/probe" ] || fail "the probe was not built (tools/deps installs cc)"
	mkdir -p "$HOOKS/$A"
	cp "$BATS_FILE_TMPDIR/probe" "$HOOKS/$A/default"
	chmod 755 "$HOOKS/$A/default"
	dispatch_body '{}' $A -i c-probe "$@"
	assert_success
	assert_reply .payload.id probe
}

@test "process: the hook leads its own session" {
	probe
	assert_log 'msg="hook: session=own"'
}

@test "process: the hook leads its own process group" {
	probe
	assert_log 'msg="hook: pgrp=own"'
}

@test "process: the hook's session and group ids equal its pid (ps)" {
	mkhook $A/default <<'EOF'
#!/bin/sh
ids=$(ps -o sid=,pgid= -p $$)
set -- $ids
[ "$1" = $$ ] && [ "$2" = $$ ] && echo own || echo "other-$1-$2-$$"
EOF
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id own
}

@test "process: the working directory is HOOKS" {
	mkhook $A/default <<'EOF'
#!/bin/sh
pwd -P
EOF
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id "$(cd "$HOOKS" && pwd -P)"
}

@test "process: argv[0] is the hook's absolute path" {
	probe
	assert_log "msg=\"hook: argv0=$(cd "$HOOKS" && pwd -P)/$A/default\""
}

@test "process: the hook gets no arguments" {
	probe
	assert_log 'msg="hook: argc=1"'
}

@test "process: a script hook's \$0 is its absolute path and \$# is 0" {
	mkhook $A/default <<'EOF'
#!/bin/sh
echo "$0 $#"
EOF
	dispatch_body '{}' $A
	assert_reply .payload.id "$(cd "$HOOKS" && pwd -P)/$A/default 0"
}

@test "process: only fds 0, 1 and 2 are open, even if the agent inherited more" {
	exec 5</dev/null 9>/dev/null
	probe
	exec 5<&- 9>&-
	assert_log 'msg="hook: fds=0 1 2"'
}

@test "process: with close_range(2) failing, fds are closed without opendir in the child" {
	# As on kernels before 5.9 or under a seccomp filter.  Between vfork()
	# and exec the child may not call opendir() or malloc().
	[ -x "$BATS_FILE_TMPDIR/probe" ] || fail "the probe was not built (tools/deps installs cc)"
	mkdir -p "$HOOKS/$A"
	cp "$BATS_FILE_TMPDIR/probe" "$HOOKS/$A/default"
	chmod 755 "$HOOKS/$A/default"
	exec 5</dev/null 9>/dev/null
	# LeakSanitizer cannot run under ptrace (the sanitized pass).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run --separate-stderr strace -f -qq -o "$BATS_TEST_TMPDIR/trace" \
	    -e trace=vfork,execve,close_range,openat,getdents64 \
	    -e inject=close_range:error=ENOSYS \
	    "$HCA_EXEC" -n $A -H "$HOOKS" <<<'{}'
	exec 5<&- 9>&-
	assert_success
	assert_log 'msg="hook: fds=0 1 2"'
	assert grep -q 'close_range.*ENOSYS' "$BATS_TEST_TMPDIR/trace"
	# What the child did between vfork() and its execve().
	child=$(sed -n 's/.*vfork.*) *= *\([0-9][0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/trace" | head -n 1)
	assert [ -n "$child" ]
	run awk -v c="$child" '$1 == c && /execve\(/ { exit } $1 == c' "$BATS_TEST_TMPDIR/trace"
	assert_success
	assert_output --partial close_range
	refute_output --partial /proc/self/fd
	refute_output --partial getdents64
}

@test "process: a shell hook sees no descriptor but 0, 1, 2 and its script" {
	# ls runs as a child, and bash redirects in the child: ls lists the
	# shell's own table, as it is between commands.
	mkhook $A/default <<EOF
#!/bin/bash
ls -l /proc/\$\$/fd > '$BATS_TEST_TMPDIR/fds'
echo listed
EOF
	exec 7</dev/null
	dispatch_body '{}' $A
	exec 7<&-
	assert_success
	script=$(cd "$HOOKS" && pwd -P)/$A/default
	run sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)/\1 \2/p' "$BATS_TEST_TMPDIR/fds"
	run grep -v " $script\$" <<<"$output"
	run cut -d' ' -f1 <<<"$output"
	assert_output "0
1
2"
}

@test "process: the signal mask is empty" {
	probe
	assert_log 'msg="hook: blocked="'
}

@test "process: no signal is ignored, even those the agent's parent ignored" {
	[ -x "$BATS_FILE_TMPDIR/probe" ] || fail "the probe was not built (tools/deps installs cc)"
	mkdir -p "$HOOKS/$A"
	cp "$BATS_FILE_TMPDIR/probe" "$HOOKS/$A/default"
	chmod 755 "$HOOKS/$A/default"
	run --separate-stderr bash -c 'trap "" INT QUIT USR1 TERM HUP PIPE
	    exec "$HCA_EXEC" -n '$A' -H "$1"' - "$HOOKS" <<<'{}'
	assert_success
	assert_log 'msg="hook: ignored="'
}

@test "process: SigBlk and SigIgn in /proc are all zeros for the hook" {
	mkhook $A/default <<'EOF'
#!/bin/sh
exec awk '/^SigBlk/ { b = $2 } /^SigIgn/ { i = $2 } END { print b "-" i }' /proc/self/status
EOF
	dispatch_body '{}' $A
	assert_success
	assert_reply .payload.id 0000000000000000-0000000000000000
}

@test "process: signals 32 and 33 ignored by whoever started hca-exec are reset for the hook" {
	cc -o "$BATS_TEST_TMPDIR/ignore-reserved" "$TOP/tests/fixtures/ignore-reserved.c"
	mkhook $A/default <<'EOF'
#!/bin/sh
exec awk '/^SigIgn/ { print $2 }' /proc/self/status
EOF
	run --separate-stderr "$BATS_TEST_TMPDIR/ignore-reserved" "$HCA_EXEC" -n $A -H "$HOOKS" <<<'{}'
	assert_success
	assert_reply .payload.id 0000000000000000
}
