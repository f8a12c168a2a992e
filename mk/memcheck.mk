# mk/memcheck.mk: `make memcheck`: hca-exec under valgrind against a
# private RabbitMQ (leaks, errors, descriptors), and its resident memory
# after 100 vs 10,000 requests.  See tests/tools/memcheck.sh.

memcheck: all testtools
	tests/tools/memcheck.sh $(B)

.PHONY: memcheck
