# hca-exec: a Helmholtz Cloud Agent that runs one executable hook per request.
# `make` builds, `make check` tests (installing missing Debian packages
# first), `make demo` shows it working against a private RabbitMQ.

VERSION	 = 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	   -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith
PKGS	 = librabbitmq libbsd-overlay
DEPCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljq -pthread
ALL_CFLAGS = $(WARN) $(DEPCFLAGS) -DHCA_VERSION='"$(VERSION)"' $(CFLAGS)

B	?= build
EXEC_SRCS = src/util.c src/log.c src/ev.c src/conf.c src/kinds.c src/path.c \
	    src/hook.c src/result.c src/request.c src/job.c src/client.c \
	    src/broker.c src/agent.c src/metrics.c src/journal.c src/proc.c \
	    src/status.c src/main.c
PORTAL_SRCS = src/portal.c src/client.c src/kinds.c src/util.c
EXEC_OBJS = $(EXEC_SRCS:src/%.c=$(B)/%.o)
PORTAL_OBJS = $(PORTAL_SRCS:src/%.c=$(B)/%.o)

all: $(B)/hca-exec $(B)/hca-portal

$(B)/hca-exec: $(EXEC_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(EXEC_OBJS) $(DEPLIBS)

$(B)/hca-portal: $(PORTAL_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(PORTAL_OBJS) $(DEPLIBS)

$(B)/%.o: src/%.c src/*.h | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $@

deps:
	@tools/deps -n >/dev/null 2>&1 || tools/deps

# Test suites: tests/ (the project's own) and examples/ (hooks with their
# tests); each may add more with TEST_DIRS += in the included makefiles.
TEST_DIRS = tests examples
SAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all

-include mk/*.mk

# The whole suite, then again against a build with ASan and UBSan.
check: deps
	$(MAKE) all
	mandoc -Tlint -Wwarning man/*.[0-9]
	HCA_EXEC=$(CURDIR)/$(B)/hca-exec tools/runtests $(TEST_DIRS)
	$(MAKE) B=build/asan CFLAGS='$(SAN_CFLAGS)' all
	HCA_EXEC=$(CURDIR)/build/asan/hca-exec HCA_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	tools/runtests $(TEST_DIRS)
	$(MAKE) fuzz-check

demo: deps
	$(MAKE) all
	tools/demo

clean:
	rm -rf build

.PHONY: all deps check demo clean
