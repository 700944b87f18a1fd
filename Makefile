# host: a native AWS Lambda runtime for Python.
# `make` builds build/host (and build/python3, a link to it); `make check` runs every test; `make demo` runs the store locally.
# PYTHON chooses the interpreter that host embeds and that the tests run under.
# `make layer` builds the deployable Lambda layer (no Docker) for PYTHON_VERSION: see layer/build.sh.

PYTHON      ?= /usr/bin/python3
PREFIX      ?= /usr/local
DESTDIR     ?=
CC          ?= cc
BUILD       := build
# The layer's CPython version (3.13 or 3.11: what Debian's archive serves the source of).
PYTHON_VERSION ?= $(shell cat layer/python-version)
LAYER_DIST  := dist/python$(PYTHON_VERSION)

PY_VERSION  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PY_CONFIG   := $(PYTHON)-config
PY_CFLAGS   := $(shell $(PY_CONFIG) --includes)
PY_LIBS     := $(shell $(PY_CONFIG) --embed --ldflags)
PY_LIBDIR   := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')

DEP_CFLAGS  := $(shell pkg-config --cflags libcurl jansson libmicrohttpd yaml-0.1 zlib 2>/dev/null)
DEP_LIBS    := $(shell pkg-config --libs libcurl jansson libmicrohttpd yaml-0.1 zlib 2>/dev/null || \
                 echo -lcurl -ljansson -lmicrohttpd -lyaml -lz) -lpthread

CFLAGS      ?= -O2 -g
CFLAGS      += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-strict-aliasing \
               $(PY_CFLAGS) $(DEP_CFLAGS) -I$(BUILD)/gen -Ihost
# $ORIGIN/lib lets a layer carry libpython next to bootstrap (see layer/). DT_RPATH (not
# RUNPATH) so the layer's libraries win over LD_LIBRARY_PATH's /lib64 on Lambda.
LDFLAGS     += -Wl,--disable-new-dtags -Wl,-rpath,'$$ORIGIN/lib' -Wl,-rpath,$(PY_LIBDIR)
LDLIBS      += $(PY_LIBS) $(DEP_LIBS) -lm

# HOST_LOCAL_TOOLS=0 leaves out `host local` (host/sam_*.c: libmicrohttpd, libyaml, zlib): the
# Lambda layer's bootstrap carries the runtime only (layer/build-inside.sh).
HOST_LOCAL_TOOLS ?= 1
HOST_SRCS   := $(filter-out host/main.c,$(wildcard host/*.c))
ifeq ($(HOST_LOCAL_TOOLS),0)
HOST_SRCS   := $(filter-out host/sam_%.c,$(HOST_SRCS))
CFLAGS      += -DHOST_NO_LOCAL_TOOLS
endif
HOST_OBJS   := $(HOST_SRCS:host/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/hostpy.o
HOST_PY     := $(wildcard host/py/*.py)

.PHONY: all deps check unit demo serve bench layer layer-docker install clean FORCE

all: $(BUILD)/host $(BUILD)/python3

deps:
	@bash scripts/deps.sh build

$(BUILD)/host: $(HOST_OBJS) $(BUILD)/obj/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# host started as python3 is the interpreter (host/pymain.c); sys.executable names this link.
$(BUILD)/python3: | $(BUILD)/host
	ln -sfn host $@

# -MMD -MP: each object depends on exactly the headers it includes (build/obj/*.d).
$(BUILD)/obj/%.o: host/%.c $(BUILD)/python.stamp | $(BUILD)/obj
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Rewritten only when PYTHON changes, so switching interpreters rebuilds everything.
$(BUILD)/python.stamp: FORCE | $(BUILD)/obj
	@echo '$(PYTHON) $(PY_VERSION)' | cmp -s - $@ || echo '$(PYTHON) $(PY_VERSION)' > $@

FORCE:

# The runtime's Python half (host/py/*.py) is compiled to bytecode by the embedded interpreter's
# own version and linked into the binary, so bootstrap is one self-contained ELF.
$(BUILD)/gen/hostpy.c: $(HOST_PY) scripts/embed_py.py $(BUILD)/python.stamp | $(BUILD)/gen
	$(PYTHON) scripts/embed_py.py $@ $(HOST_PY)

$(BUILD)/obj/hostpy.o: $(BUILD)/gen/hostpy.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/gen:
	mkdir -p $@

include tests/unit/unit.mk
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/unit/*.d)

# The layer is built once (reruns reuse build/root, build/src and build/layer) and its tests run
# it inside the old-glibc build root.
check:
	@bash scripts/deps.sh all
	$(MAKE) all unit
	$(MAKE) layer
	HOST_BIN=$(abspath $(BUILD)/host) PYTHON=$(PYTHON) LAYER_DIST=$(abspath $(LAYER_DIST)) \
	    $(PYTHON) -m pytest -q tests

demo:
	@bash scripts/deps.sh build
	$(MAKE) all
	PYTHON=$(PYTHON) bash scripts/demo.sh

# The store and its web page on http://127.0.0.1:3000 under `host local start-api`, on SQLite
# (pyhandlers/local-env.json empties the DynamoDB table and SSM names); Ctrl-C stops.
serve:
	@bash scripts/deps.sh build
	$(MAKE) all
	$(BUILD)/host local start-api -t template.yaml --env-vars pyhandlers/local-env.json $(SERVE_ARGS)

# host is measured as deployed: the layer's bootstrap with its own stdlib.
bench: layer
	$(MAKE) -C bench PYTHON=$(PYTHON) HOST_BIN=$(abspath $(BUILD)/host) \
	    HOST_LAYER=$(abspath $(LAYER_DIST)/host-layer.zip) run

layer:
	@bash scripts/deps.sh build
	PYTHON_VERSION=$(PYTHON_VERSION) bash layer/build.sh

# The same layout built inside Amazon Linux 2023 with Docker (Dockerfile).
layer-docker:
	PYTHON_VERSION=$(PYTHON_VERSION) bash layer/build-docker.sh

# python3 (a link to host, for sys.executable) goes to lib/host/, off PATH, so the machine's
# own python3 is not shadowed; host looks for it there (host/interp.c).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/host
	install -m 0755 $(BUILD)/host $(DESTDIR)$(PREFIX)/bin/host
	ln -sfn ../../bin/host $(DESTDIR)$(PREFIX)/lib/host/python3

clean:
	rm -rf $(BUILD) dist
