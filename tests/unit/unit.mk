# C unit tests (Check), one binary per host module, linked against the real host objects
# ($(HOST_OBJS): everything but main.o). Included by the top-level Makefile.
#
# `make unit` builds build/unit/test_*, runs each one (Check's fork mode: a crash fails one
# test, not the binary), then runs each again under valgrind with CK_FORK=no, so the tests
# and host's code share one process and every bad access or leaked block is seen.
# PYTHONMALLOC=malloc gives valgrind CPython's objects as plain malloc blocks; leaked
# references to GC-tracked objects stay reachable there, so the Python-touching suites also
# count pymalloc blocks over repeated calls in the first run (unit_py_growth).
# tests/unit/python.supp hides only reports CPython's own import machinery causes.
# It fails if any test fails or valgrind reports an error; every binary runs either way, and
# a summary names the failures at the end.

UNIT_DIR      := tests/unit
UNIT_BUILD    := $(BUILD)/unit
UNIT_NAMES    := buf marshal event floattext rapi_headers cli context errors invoke stream handler syspath oom pymain sam
UNIT_BINS     := $(UNIT_NAMES:%=$(UNIT_BUILD)/test_%)
# Deferred (=, not :=): pkg-config runs only when a unit test is built, so a plain `make`
# on a machine without Check prints nothing about it.
UNIT_CFLAGS    = $(shell pkg-config --cflags check) -I$(UNIT_DIR)
UNIT_LIBS      = $(shell pkg-config --libs check)
VALGRIND      ?= valgrind
UNIT_VALGRIND := $(VALGRIND) -q --leak-check=full --errors-for-leak-kinds=definite \
                 --show-leak-kinds=definite --error-exitcode=1 --child-silent-after-fork=yes \
                 --suppressions=$(UNIT_DIR)/python.supp

.PHONY: unit unit-build
.PRECIOUS: $(UNIT_BUILD)/%.o

unit-build: $(UNIT_BINS)

$(UNIT_BUILD):
	mkdir -p $@

$(UNIT_BUILD)/%.o: $(UNIT_DIR)/%.c $(BUILD)/python.stamp | $(UNIT_BUILD)
	$(CC) $(CFLAGS) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_BUILD)/test_%: $(UNIT_BUILD)/test_%.o $(UNIT_BUILD)/unit.o $(HOST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(UNIT_LIBS) $(LDLIBS)

unit: $(UNIT_BINS)
	@failed=""; \
	for t in $(UNIT_BINS); do \
	  echo "unit: $$t"; \
	  $$t || failed="$$failed $${t##*/}"; \
	done; \
	for t in $(UNIT_BINS); do \
	  echo "unit: valgrind $$t"; \
	  CK_FORK=no PYTHONMALLOC=malloc $(UNIT_VALGRIND) $$t || failed="$$failed valgrind:$${t##*/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit: FAILED:$$failed"; exit 1; fi; \
	echo "unit: all passed, valgrind clean"
