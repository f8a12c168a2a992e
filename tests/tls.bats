#!/usr/bin/env bats
# amqps against a private RabbitMQ with a TLS listener and a CA made here:
# the right CA connects, a wrong CA or a wrong host name is refused clearly.
load lib/common
load lib/broker

setup_file() {
	CERTS=$(mktemp -d /tmp/hca-test-certs.XXXXXX)
	chmod 755 "$CERTS"
	export CERTS
	cd "$CERTS"
	for ca in ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hca test $ca" \
		    -keyout "$ca.key" -out "$ca.pem" 2>/dev/null
	done
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
	    -keyout server.key -out server.csr 2>/dev/null
	printf 'subjectAltName=DNS:localhost\n' > san.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -days 2 -extfile san.ext -out server.pem 2>/dev/null
	# A client certificate, its key readable by root alone.
	openssl req -newkey rsa:2048 -nodes -subj /CN=hca-client \
	    -keyout client.key -out client.csr 2>/dev/null
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -days 2 -out client.pem 2>/dev/null
	chmod 644 ./*
	chmod 400 client.key
	TLS_PORT=$(( 20000 + RANDOM % 10000 ))
	export TLS_PORT
	broker_start -c "listeners.ssl.default = $TLS_PORT" \
	    -c "ssl_options.cacertfile = $CERTS/ca.pem" \
	    -c "ssl_options.certfile = $CERTS/server.pem" \
	    -c "ssl_options.keyfile = $CERTS/server.key" \
	    -c "ssl_options.verify = verify_none" \
	    -c "ssl_options.fail_if_no_peer_cert = false"
}

teardown_file() {
	broker_stop
	rm -rf "$CERTS"
}

setup() {
	broker_test_setup
	export HCA_URL=amqps://guest:guest@localhost:$TLS_PORT
}

teardown() {
	agent_stop
}

@test "amqps with the right CA: the agent connects and answers" {
	export HCA_CACERT=$CERTS/ca.pem
	agent_start --declare
	portal -w 10 ping
	assert_success
	assert_reply .type PingV1
}

@test "amqps with another CA: refused with a clear message, exit 1" {
	HCA_CACERT=$CERTS/other-ca.pem run --separate-stderr "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 1
	assert_regex "$stderr" 'connecting to localhost:[0-9]+: .*(certificate|verif)'
}

@test "every AMQP client shares the agent's TLS set-up: hca-portal and hca-publish verify the broker alike" {
	testtools_build
	export HCA_CACERT=$CERTS/ca.pem
	agent_start --declare
	run --separate-stderr "$PUBLISH_TOOL" depth "$HCA_URL" "$HCA_SERVICE.to_hca"
	assert_success
	assert_output 0
	portal -w 10 ping
	assert_success
	assert_reply .type PingV1
	# Another CA: the same refusal, in the same words, as the agent's.
	export HCA_CACERT=$CERTS/other-ca.pem
	run --separate-stderr "$PUBLISH_TOOL" depth "$HCA_URL" "$HCA_SERVICE.to_hca"
	assert_failure 2
	assert_regex "$stderr" '^hca-publish: connecting to localhost:[0-9]+: .*(certificate|verif)'
	portal -w 10 ping
	assert_failure 2
	assert_regex "$stderr" 'hca-portal: connecting to localhost:[0-9]+: .*(certificate|verif)'
}

@test "amqps to a name the certificate does not carry: refused, exit 1" {
	HCA_CACERT=$CERTS/ca.pem HCA_URL=amqps://guest:guest@127.0.0.1:$TLS_PORT \
	    run --separate-stderr "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 1
	assert_regex "$stderr" 'connecting to 127.0.0.1:[0-9]+: .*(hostname|host name|verif)'
}

@test "--insecure connects to an unverifiable broker and says so in the log" {
	export HCA_CACERT=$CERTS/other-ca.pem
	agent_start --declare --insecure
	assert grep -q 'NOT verified' "$AGENT_LOG"
}

@test "HCA_USER with a client key that only root can read: read before the drop, kept in memory" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (CI runs as root)"
	export HCA_CACERT=$CERTS/ca.pem HCA_CERT=$CERTS/client.pem HCA_KEY=$CERTS/client.key
	# The agent becomes nobody, who cannot read the key (mode 0400, root).
	assert [ "$(stat -c '%u %a' "$HCA_KEY")" = "0 400" ]
	HCA_USER=nobody agent_start --declare
	assert grep -q 'running as user nobody' "$AGENT_LOG"
	portal -w 10 ping
	assert_success
	assert_reply .type PingV1
	refute grep -q 'HCA_KEY=.*can be read by' "$AGENT_LOG"
}

@test "an encrypted client key is refused at start, exit 2 (librabbitmq would abort)" {
	openssl pkey -in "$CERTS/client.key" -aes128 -passout pass:secret \
	    -out "$BATS_TEST_TMPDIR/enc.key" 2>/dev/null
	HCA_CACERT=$CERTS/ca.pem HCA_CERT=$CERTS/client.pem HCA_KEY=$BATS_TEST_TMPDIR/enc.key \
	    run --separate-stderr timeout -k 2 10 "$HCA_EXEC" -H "$HOOKS" --declare
	assert_failure 2
	assert_regex "$stderr" "HCA_KEY=$BATS_TEST_TMPDIR/enc.key: the key is encrypted"
}
