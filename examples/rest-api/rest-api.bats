#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each test runs in a subshell of its own
# Tests of the rest-api hooks against server.py, a stand-in for the service's
# API that this file starts on a free loopback port.
load ../../share/hca	# installed: load /usr/local/share/hca-exec/hca

setup_file() {
	echo s3cret-token > "$BATS_FILE_TMPDIR/token"
	# fd 3 closed: bats waits for whatever holds it open.
	python3 "$BATS_TEST_DIRNAME/server.py" "$BATS_FILE_TMPDIR/port" s3cret-token \
	    > "$BATS_FILE_TMPDIR/server.log" 2>&1 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/server.pid"
	for _ in $(seq 50); do
		[ -s "$BATS_FILE_TMPDIR/port" ] && return
		sleep 0.1
	done
	echo "server.py did not start" >&2
	return 1
}

teardown_file() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/server.pid")
	kill "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

setup() {
	export HCA_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks
	cp -R "$BATS_TEST_DIRNAME/hooks" "$HCA_HOOKS_DIR"
	chmod -R go-w "$HCA_HOOKS_DIR"
	API=http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")
	export REST_API_URL=$API REST_API_TOKEN_FILE=$BATS_FILE_TMPDIR/token
	export HCA_PASS_ENV="REST_API_URL REST_API_TOKEN_FILE"
	export HCA_RETRY_DELAY=0
	curl -fsS -X POST "$API/_reset"
}

allocate() {	# allocate NAME [OWNER [ARGS...]]
	local name=$1 owner=${2:-a1b2c3@helmholtz.de}
	shift 2 || shift
	hca_dispatch ResourceAllocateV1 "$(hca_payload_user ProjectSpecV1 "$owner" \
	    "{\"name\":\"$name\"}")" "$@"
}

fail_next() {	# fail_next STATUS [TIMES [BODY]]: the API's next answers
	curl -fsS -X POST "$API/_fail" \
	    -d "{\"status\":$1,\"times\":${2:-1},\"body\":${3:-null}}"
}

log_curl() {	# the hooks' curl through a wrapper that logs its arguments
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat > "$BATS_TEST_TMPDIR/bin/curl" <<EOF
#!/bin/sh
echo "\$@" >> "$BATS_TEST_TMPDIR/curl.args"
exec /usr/bin/curl "\$@"
EOF
	chmod 755 "$BATS_TEST_TMPDIR/bin/curl"
	export HCA_HOOK_PATH=$BATS_TEST_TMPDIR/bin:/usr/bin:/bin
}

api_log() {	# api_log JQFILTER: over the requests the API got, one per line
	curl -fsS "$API/_log" | jq -r "$1"
}

@test "201: ResourceCreatedV1 with the API's id, and the project exists" {
	allocate climate-lab
	assert_success
	assert_reply_type ResourceCreatedV1
	assert_reply_field .id prj-1
	run curl -fsS -H 'Authorization: Bearer s3cret-token' "$API/projects/prj-1"
	assert_output --partial '"owner": "a1b2c3@helmholtz.de"'
}

@test "the request carries the token and the correlation id as Idempotency-Key" {
	allocate climate-lab a1b2c3@helmholtz.de -i corr-42
	run api_log '[.authorization, .idempotency_key] | join(" ")'
	assert_output "Bearer s3cret-token corr-42"
}

@test "the token is not on curl's command line, where ps would show it" {
	log_curl
	allocate climate-lab
	assert_success
	run cat "$BATS_TEST_TMPDIR/curl.args"
	assert_output --partial "$API/projects"
	refute_output --partial s3cret
}

@test "a request that runs again gets the same project (200 on replay)" {
	allocate climate-lab a1b2c3@helmholtz.de -i corr-1
	allocate climate-lab a1b2c3@helmholtz.de -i corr-1
	assert_success
	assert_reply_field .id prj-1
}

@test "400: InvalidSpecification with the API's message" {
	hca_dispatch ResourceAllocateV1 "$(hca_payload_user ProjectSpecV1 a1b2c3@helmholtz.de '{}')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert_error_message "name must be a string"
}

@test "422: InvalidSpecification with the API's message" {
	allocate X
	assert_error_type InvalidSpecification
	assert_error_message "name must be 3 to 31 lower-case letters, digits or -"
}

@test "404: UnknownTarget" {
	allocate climate-lab nobody@unknown.example
	assert_error_type UnknownTarget
	assert_error_message "the owner has no account here"
}

@test "409: ResourceExists" {
	allocate climate-lab
	allocate climate-lab
	assert_error_type ResourceExists
	assert_error_message "a project named climate-lab exists already"
}

@test "503 once: retried, then created" {
	fail_next 503
	allocate climate-lab
	assert_success
	assert_reply_field .id prj-1
	assert_hook_stderr "the API is unavailable (HTTP 503), attempt 1"
}

@test "503 every time: TemporaryFailure after the retries" {
	export HCA_RETRIES=1
	fail_next 503 2
	allocate climate-lab
	assert_error_type TemporaryFailure
	run api_log .path
	assert_output $'/projects\n/projects'
}

@test "the API down: TemporaryFailure" {
	export HCA_RETRIES=0
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export REST_API_URL=http://127.0.0.1:$port
	allocate climate-lab
	assert_error_type TemporaryFailure
}

@test "401: PermissionDenied, with nothing about our credentials in the reply" {
	echo wrong > "$BATS_TEST_TMPDIR/token"
	export REST_API_TOKEN_FILE=$BATS_TEST_TMPDIR/token
	allocate climate-lab
	assert_error_type PermissionDenied
	refute_output --partial credentials
	assert_hook_stderr "the API refused our credentials"
}

@test "403: PermissionDenied with the API's message" {
	fail_next 403 1 '{"message":"projects need a PI"}'
	allocate climate-lab
	assert_error_type PermissionDenied
	assert_error_message "projects need a PI"
}

@test "500: HookFailed with a generic message; the API's answer goes to the log" {
	fail_next 500 1 '{"message":"NullPointerException at Foo.java:42"}'
	allocate climate-lab
	assert_error_type HookFailed
	refute_output --partial NullPointer
	assert_hook_stderr "NullPointerException"
}

@test "deallocate deletes the project" {
	allocate climate-lab
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc prj-1)"
	assert_success
	assert_reply_type ResourceDeallocatedV1
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret-token' \
	    "$API/projects/prj-1"
	assert_output 404
}

@test "deallocate of a project that is gone already succeeds" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc prj-99)"
	assert_success
	assert_reply_field .id prj-99
}

@test "deallocate refuses an id that is not a path segment" {
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc ../admin)"
	assert_error_type InvalidSpecification
	run api_log .path
	assert_output ""
}

@test "deallocate refuses an id with a newline inside, and calls nothing" {
	allocate climate-lab
	assert_success
	log_curl
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc $'prj-1\nx')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert [ ! -e "$BATS_TEST_TMPDIR/curl.args" ]
	run api_log .method
	assert_output POST
}

@test "deallocate refuses an id with a trailing newline, and calls nothing" {
	allocate climate-lab
	assert_success
	log_curl
	hca_dispatch ResourceDeallocateV1 "$(hca_payload_dealloc $'prj-1\n')"
	assert_failure 1
	assert_error_type InvalidSpecification
	assert [ ! -e "$BATS_TEST_TMPDIR/curl.args" ]
	run api_log .method
	assert_output POST
}

@test "no REST_API_URL: ConfigurationError" {
	unset REST_API_URL
	allocate climate-lab
	assert_error_type ConfigurationError
}

@test "the hooks are shellcheck-clean" {
	cd "$BATS_TEST_DIRNAME/hooks"
	run shellcheck ResourceAllocateV1/ProjectSpecV1 ResourceDeallocateV1
	assert_success
	assert_output ""
}
