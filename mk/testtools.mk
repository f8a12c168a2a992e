# mk/testtools.mk: helper programs of the broker suites, built into
# $(TOOLS_B) (build/tools, whatever B is: the sanitized build shares them).
#   make testtools	build/tools/hca-publish (tests/tools/publish.c)
# tests/lib/broker.bash points PUBLISH_TOOL at it; the suites that need it
# build it when it is missing, and `make check` builds it first.

TOOLS_B	 = build/tools
TOOLS_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -Isrc \
	       $(shell pkg-config --cflags librabbitmq 2>/dev/null)
TOOLS_LIBS = $(shell pkg-config --libs librabbitmq 2>/dev/null) -ljq

testtools: $(TOOLS_B)/hca-publish

# src/client.c: the connection code every AMQP client of the project shares.
$(TOOLS_B)/hca-publish: tests/tools/publish.c src/client.c src/client.h
	@mkdir -p $(TOOLS_B)
	$(CC) $(TOOLS_CFLAGS) -o $@ tests/tools/publish.c src/client.c \
	    $(TOOLS_LIBS)

# After deps, which installs librabbitmq's headers on a fresh machine.
check-testtools: deps
	$(MAKE) testtools

check: check-testtools

.PHONY: testtools check-testtools
