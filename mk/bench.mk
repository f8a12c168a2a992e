# mk/bench.mk: `make bench` and `make bench-quick`, included by the Makefile.
#   make bench          hca-exec against a spawn loop and amqp-consume on one
#                       private RabbitMQ, best of 3 runs per row (a few minutes)
#   make bench-quick    every row once with a few requests (CI: under a minute);
#                       fails only if the harness is broken, never on timings
# BENCH_FLAGS passes more options to bench/run (bench/run -h).

BENCH_LIBS = $(shell pkg-config --libs librabbitmq libbsd-overlay 2>/dev/null)
BENCH_BINS = $(B)/bench/loadgen $(B)/bench/spawn
BENCH_FLAGS ?=

$(B)/bench/loadgen: bench/loadgen.c bench/benchlib.c bench/benchlib.h \
    src/client.c src/client.h
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) -Isrc $(LDFLAGS) -o $@ bench/loadgen.c \
	    bench/benchlib.c src/client.c $(BENCH_LIBS)

$(B)/bench/spawn: bench/spawn.c bench/benchlib.c bench/benchlib.h
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ bench/spawn.c bench/benchlib.c \
	    $(BENCH_LIBS)

bench-bins: $(BENCH_BINS)

bench: deps
	$(MAKE) all bench-bins
	B=$(B) bench/run $(BENCH_FLAGS)

bench-quick: deps
	$(MAKE) all bench-bins
	B=$(B) bench/run -q $(BENCH_FLAGS)

.PHONY: bench bench-bins bench-quick
