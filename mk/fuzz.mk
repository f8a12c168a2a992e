# mk/fuzz.mk: libFuzzer targets (clang), included by the Makefile.
#   make fuzz [FUZZ_SECONDS=60]	fuzz each target for FUZZ_SECONDS, starting
#				from its seeds and what earlier runs found,
#				kept (merged) in build/fuzz/corpus/<target>
#   make fuzz-check		each target once over its seeds and regression
#				inputs (no mutation), then FUZZ_CHECK_SECONDS
#				(10) of fuzzing each; for `make check`
#   make fuzz-build		just build build/fuzz/fuzz_<target>
# Targets: request (request_parse), result (result_map), util (util.c's
# parsers and json_strings_placed).  `make -j3 fuzz` runs the three at once.  A crash, leak or UB
# stops the run with a non-zero exit and names the input that caused it,
# under build/fuzz/artifacts/<target>/; once fixed, keep it as
# fuzz/regress/<target>/<what-it-was>.  Replay one input:
#   build/fuzz/fuzz_result fuzz/regress/result/some-input

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_CHECK_SECONDS ?= 10
FUZZ_B		 = build/fuzz
FUZZ_TARGETS	 = request result util
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	?= -O1 -g
# The project's flags, but a warning that only clang gives does not stop
# the fuzzers from building.
FUZZ_ALLCFLAGS	 = $(filter-out -Werror,$(WARN)) $(DEPCFLAGS) \
		   -DHCA_VERSION='"$(VERSION)"' $(FUZZ_CFLAGS) $(FUZZ_SAN)
FUZZ_ENV	 = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZ_OPTS	 = -timeout=10 -print_final_stats=1
FUZZ_OPTS_request = -max_len=8192 -dict=fuzz/json.dict
FUZZ_OPTS_result  = -max_len=8192 -dict=fuzz/json.dict
FUZZ_OPTS_util	  = -max_len=512 -dict=fuzz/json.dict

FUZZ_OBJS_request = util request
FUZZ_OBJS_result  = util log path kinds result
FUZZ_OBJS_util	  = util

FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

$(FUZZ_B)/obj/%.o: src/%.c src/*.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/fuzz_request: $(FUZZ_OBJS_request:%=$(FUZZ_B)/obj/%.o)
$(FUZZ_B)/fuzz_result: $(FUZZ_OBJS_result:%=$(FUZZ_B)/obj/%.o)
$(FUZZ_B)/fuzz_util: $(FUZZ_OBJS_util:%=$(FUZZ_B)/obj/%.o)

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c fuzz/*.h src/*.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) -Isrc -fsanitize=fuzzer -o $@ $< \
	    $(filter %.o,$^) $(DEPLIBS)

fuzz-build: $(FUZZ_BINS)

# fuzz_run TARGET SECONDS CORPUS-DIR: fuzz from the seeds (copied into
# CORPUS-DIR) and the regression inputs; on a crash, name the input, else
# merge CORPUS-DIR down to the inputs that add coverage.
fuzz_run = t=$(1); c=$(3); a=$(FUZZ_B)/artifacts/$$t; \
	log=$$c.log; \
	mkdir -p $$c $$a fuzz/regress/$$t && \
	cp fuzz/corpus/$$t/* $$c/ && \
	echo "fuzz: fuzz_$$t for $(2) s, corpus $$c, log $$log" && \
	$(FUZZ_ENV) $(FUZZ_B)/fuzz_$$t $(FUZZ_OPTS) $(FUZZ_OPTS_$(1)) \
	    -max_total_time=$(2) -artifact_prefix=$$a/ \
	    $$c fuzz/regress/$$t >$$log 2>&1; \
	rc=$$?; \
	if [ $$rc -ne 0 ]; then \
		tail -n 60 $$log; \
		echo "fuzz: fuzz_$$t FAILED (exit $$rc); input:"; \
		sed -n 's/.*Test unit written to \(.*\)/  \1/p' $$log; \
		exit 1; \
	fi; \
	rm -rf $$c.min; mkdir -p $$c.min && \
	$(FUZZ_B)/fuzz_$$t $(FUZZ_OPTS_$(1)) -merge=1 $$c.min $$c \
	    >$$c.merge.log 2>&1 && \
	    rm -rf $$c && mv $$c.min $$c; rm -rf $$c.min; \
	grep -E '^\#[0-9]+.*DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' $$log \
	    | sed "s/^/fuzz: fuzz_$$t: /"; \
	echo "fuzz: fuzz_$$t: corpus $$(ls $$c | wc -l) inputs (merged)"

# fuzz_replay TARGET: every seed and regression input once, no mutation.
fuzz_replay = t=$(1); a=$(FUZZ_B)/artifacts/$$t; \
	mkdir -p $$a fuzz/regress/$$t && \
	echo "fuzz: fuzz_$$t over fuzz/corpus/$$t and fuzz/regress/$$t" && \
	$(FUZZ_ENV) $(FUZZ_B)/fuzz_$$t $(FUZZ_OPTS) $(FUZZ_OPTS_$(1)) -runs=0 \
	    -artifact_prefix=$$a/ fuzz/corpus/$$t fuzz/regress/$$t >$(FUZZ_B)/replay_$$t.log 2>&1 || \
	{ tail -n 60 $(FUZZ_B)/replay_$$t.log; \
	  echo "fuzz: fuzz_$$t FAILED on a kept input:"; \
	  sed -n 's/.*Running: \(.*\)/  \1/p; s/.*Test unit written to \(.*\)/  \1/p' \
	      $(FUZZ_B)/replay_$$t.log; exit 1; }

fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)

$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: $(FUZZ_B)/fuzz_%
	@$(call fuzz_run,$*,$(FUZZ_SECONDS),$(FUZZ_B)/corpus/$*)

fuzz-check: $(FUZZ_TARGETS:%=fuzz-check-%)

$(FUZZ_TARGETS:%=fuzz-check-%): fuzz-check-%: $(FUZZ_B)/fuzz_%
	@$(call fuzz_replay,$*)
	@rm -rf $(FUZZ_B)/check/$*
	@$(call fuzz_run,$*,$(FUZZ_CHECK_SECONDS),$(FUZZ_B)/check/$*)

.PHONY: fuzz fuzz-build fuzz-check $(FUZZ_TARGETS:%=fuzz-run-%) \
	$(FUZZ_TARGETS:%=fuzz-check-%)
