#!/usr/bin/env bats
# tests/tools-broker.bats: tools/broker runs private, throw-away RabbitMQ nodes.
# One node (heartbeat 2 s) serves the whole file; a second one comes and goes
# in the test that needs two.  Needs rabbitmq-server and amqp-tools
# (tools/deps) and runs as root or as the rabbitmq user.
bats_load_library bats-support
bats_load_library bats-assert
bats_require_minimum_version 1.5.0

setup_file() {
	BROKER=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/tools/broker
	NODE=$(mktemp -d)
	NODE2=$(mktemp -d)
	export BROKER NODE NODE2
	URL=$("$BROKER" start "$NODE" -c 'heartbeat = 2' 3>&-)
	export URL
}

teardown_file() {
	"$BROKER" stop "$NODE2" --rm 3>&-
	"$BROKER" stop "$NODE" --rm 3>&-
}

# state DIR VAR: a variable from a node's env file.
state() {
	sed -n "s/^\(export \)\{0,1\}$2=//p" "$1/env"
}

# listening PORT: the addresses (hex, as in /proc/net/tcp*) listening on PORT.
listening() {
	awk -v p="$(printf ':%04X' "$1")" '
	    $4 == "0A" && substr($2, length($2) - 4) == p {
		print substr($2, 1, length($2) - 5)
	    }' /proc/net/tcp /proc/net/tcp6
}

@test "start prints the AMQP URL, without the slash of the empty vhost" {
	[[ $URL =~ ^amqp://guest:guest@127\.0\.0\.1:[0-9]+$ ]]
}

@test "url prints the URL that start printed" {
	run "$BROKER" url "$NODE"
	assert_success
	assert_output "$URL"
	assert_equal "$(cat "$NODE/url")" "$URL"
}

@test "mgmt prints the management URL, and the queue page answers" {
	run "$BROKER" mgmt "$NODE"
	assert_success
	assert_output --regexp '^http://127\.0\.0\.1:[0-9]+/#/queues$'
	assert_equal "$(cat "$NODE/mgmt_url")" "$output"
	run curl -s -o /dev/null -w '%{http_code}' "$output"
	assert_output 200
}

@test "node names the node in DIR/node" {
	run cat "$NODE/node"
	assert_output --regexp '^hca-[0-9a-f]+@localhost$'
}

@test "a published message is read back" {
	amqp-declare-queue --url="$URL" -q q1
	amqp-publish --url="$URL" -r q1 -b hello
	run amqp-get --url="$URL" -q q1
	assert_success
	assert_output hello
}

@test "ctl list_queues shows a declared queue" {
	amqp-declare-queue --url="$URL" -q q2
	run "$BROKER" ctl "$NODE" -q list_queues name
	assert_success
	assert_line q2
}

@test "the -c line reaches the node: heartbeat is 2 s" {
	run "$BROKER" ctl "$NODE" -q eval 'application:get_env(rabbit, heartbeat).'
	assert_success
	assert_output '{ok,2}'
}

@test "DIR/env points rabbitmqctl at the node" {
	run sh -c '. "$1/env" && /usr/lib/rabbitmq/bin/rabbitmqctl -q eval "node()."' \
	    sh "$NODE"
	assert_success
	assert_output "'$(cat "$NODE/node")'"
}

@test "every port of the node listens on loopback only" {
	local var port
	for var in RABBITMQ_NODE_PORT RABBITMQ_DIST_PORT ERL_EPMD_PORT \
	    BROKER_MGMT_PORT; do
		port=$(state "$NODE" "$var")
		[ -n "$(listening "$port")" ]
		# anything but 127.0.0.1 and ::1 (epmd also takes ::1)
		run grep -vxE '0100007F|0{24}01000000' <<<"$(listening "$port")"
		assert_output ''
	done
}

@test "restart keeps the URL working" {
	amqp-declare-queue --url="$URL" -q q3
	run "$BROKER" restart "$NODE" 3>&-
	assert_success
	run "$BROKER" url "$NODE"
	assert_output "$URL"
	amqp-declare-queue --url="$URL" -q q3
	amqp-publish --url="$URL" -r q3 -b again
	run amqp-get --url="$URL" -q q3
	assert_success
	assert_output again
}

@test "two nodes run at the same time on different ports" {
	local url2
	url2=$("$BROKER" start "$NODE2" 3>&-)
	[[ $url2 =~ ^amqp://guest:guest@127\.0\.0\.1:[0-9]+$ ]]
	[ "$url2" != "$URL" ]
	[ "$(state "$NODE2" ERL_EPMD_PORT)" != "$(state "$NODE" ERL_EPMD_PORT)" ]
	[ "$(cat "$NODE2/node")" != "$(cat "$NODE/node")" ]
	amqp-declare-queue --url="$url2" -q only-on-2
	amqp-declare-queue --url="$URL" -q only-on-1
	run "$BROKER" ctl "$NODE2" -q list_queues name
	assert_line only-on-2
	refute_line only-on-1
	run "$BROKER" ctl "$NODE" -q list_queues name
	assert_line only-on-1
	refute_line only-on-2
}

@test "stopping one node leaves the other running" {
	local port
	[ -f "$NODE2/env" ] || "$BROKER" start "$NODE2" 3>&- >/dev/null
	port=$(state "$NODE2" RABBITMQ_NODE_PORT)
	run "$BROKER" stop "$NODE2"
	assert_success
	run listening "$port"
	assert_output ''
	run listening "$(state "$NODE2" ERL_EPMD_PORT)"
	assert_output ''
	amqp-declare-queue --url="$URL" -q still-up
}

@test "stop of a stopped or never-started DIR is no error" {
	local fresh
	run "$BROKER" stop "$NODE2"
	assert_success
	fresh=$(mktemp -d)
	run "$BROKER" stop "$fresh" --rm
	assert_success
	[ ! -e "$fresh" ]
	run "$BROKER" stop "$fresh"
	assert_success
}

@test "a node that cannot start fails start, with the reason, and leaves nothing" {
	local bad
	bad=$(mktemp -d)
	run "$BROKER" start "$bad" -c 'no.such.setting = 1' 3>&-
	assert_failure
	assert_output --partial 'exited while starting'
	assert_output --partial 'no.such.setting'
	run listening "$(state "$bad" ERL_EPMD_PORT)"
	assert_output ''
	run listening "$(state "$bad" RABBITMQ_DIST_PORT)"
	assert_output ''
	"$BROKER" stop "$bad" --rm
}

@test "stop ends the node; start brings it back on the same URL" {
	local port
	port=$(state "$NODE" RABBITMQ_NODE_PORT)
	run "$BROKER" stop "$NODE"
	assert_success
	run listening "$port"
	assert_output ''
	run amqp-declare-queue --url="$URL" -q gone
	assert_failure
	run "$BROKER" start "$NODE" 3>&-
	assert_success
	assert_output "$URL"
	amqp-declare-queue --url="$URL" -q back
}
