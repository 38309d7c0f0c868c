# certflow - build, test and run.
#   make             build certflowd, certflow and libcertflow.a into build/
#   make check       every test (unit + integration) against a throwaway stack
#   make run         a development stack in the foreground (PostgreSQL, TLS, certflowd)
#   make SANITIZE=1  the same with AddressSanitizer and UndefinedBehaviorSanitizer (build/san)
#   make fuzz        libFuzzer on lib/'s parsers and the HTTP front, FUZZ_SECONDS (60) each (build/fuzz; docs/SECURITY.md)
#   make scan        TLS and SQL injection scans of a throwaway stack: sslscan, testssl.sh, sqlmap (minutes)
#   make bench       certflowd beside pgbench on the same SQL (docs/PERFORMANCE.md);
#                    BENCH_ARGS="--quick" for a check that it all works
#   make bench-alloc heap allocations per request, by route and site (valgrind DHAT)

PREFIX	?= /usr/local
PKGS	:= libevent libevent_openssl jansson openssl libpq zlib
PYTHON	?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILD	?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD	?= build
SANFLAGS :=
endif

# Latest migration number: certflowd refuses to start against an older schema.
SCHEMA_VERSION := $(shell ls sql 2>/dev/null | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$$/\1/p' | sort -n | tail -n 1)

OPT	?= -O2 -g
# Recursive on purpose: pkg-config is asked only once scripts/bootstrap has run.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -D_GNU_SOURCE -pthread \
	-Iinclude $(OPT) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS) \
	-DCF_SCHEMA_VERSION=$(SCHEMA_VERSION) -DCF_SQL_DIR='"$(PREFIX)/share/certflow/sql"'
ALL_LDFLAGS = $(SANFLAGS) -pthread $(LDFLAGS)

LIB_SRCS	:= $(wildcard lib/*.c)
DAEMON_SRCS	:= $(wildcard daemon/*.c)
CLI_SRCS	:= $(wildcard cli/*.c)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)

LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS	:= $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

LIBCERTFLOW	:= $(BUILD)/libcertflow.a
CERTFLOWD	:= $(BUILD)/certflowd
CERTFLOW	:= $(BUILD)/certflow

.PHONY: all deps check check-libevent unit docs-check integration check-valgrind run bench bench-alloc clean install
.DEFAULT_GOAL := all

all: $(CERTFLOWD) $(CERTFLOW)

# Installs missing Debian packages (as root) or says which line to run.
deps:
	@scripts/bootstrap

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/daemon/db_migrate.o: $(wildcard sql/*.sql)

$(LIBCERTFLOW): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(CERTFLOWD): $(DAEMON_OBJS) $(LIBCERTFLOW)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(CERTFLOW): $(CLI_OBJS) $(LIBCERTFLOW)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(LIBCERTFLOW) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCERTFLOW) $(ALL_LDFLAGS) $$(pkg-config --cflags --libs cmocka) $(PKG_LIBS) -lm

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# The integration suite starts its own throwaway stack (tests/integration/conftest.py).
integration: all
	CERTFLOW_BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE) $(PYTHON) -m pytest -q -ra tests/integration

check: deps check-libevent all unit docs-check integration

# Debian's libevent 2.1.12-stable-8+deb12u1 or newer (evhttp's security fixes).
check-libevent: deps
	@scripts/check-libevent

# The API description lists exactly the routes of daemon/routes.c; every
# SQL text and statement name handed to libpq is built from literals.
docs-check:
	@scripts/check-openapi
	@scripts/check-workflow-doc
	@scripts/check-sql-literals

# The integration suite with certflowd under valgrind memcheck: any leak or
# invalid access fails the run (the conftest scans every certflowd log).
# --vgdb=no: no gdbserver FIFOs in /tmp, which a certflowd that dropped root
# (user = nobody) could not remove at exit, and valgrind would report.
VALGRIND = valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
check-valgrind: deps all
	CERTFLOWD_WRAPPER="$(VALGRIND)" CERTFLOW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -ra tests/integration

# Scans of a throwaway stack: TLS (tests/integration/test_tls_scan.py) and
# SQL injection (test_sqlmap.py). make check runs the quick sslscan and a
# short sqlmap pass; this adds testssl.sh's full run and sqlmap at level 3,
# risk 2, time-based included, on more routes (minutes).
.PHONY: scan
scan: deps all
	CERTFLOW_TLS_SCAN=full CERTFLOW_SQLMAP=full CERTFLOW_BUILD=$(abspath $(BUILD)) \
	    $(PYTHON) -m pytest -q -ra tests/integration/test_tls_scan.py tests/integration/test_sqlmap.py

# Figures, not tests: a throwaway stack, a seeded data set, wrk (bench/results/latest.md).
bench: deps all
	@CERTFLOW_BUILD=$(abspath $(BUILD)) scripts/bench $(BENCH_ARGS)

bench-alloc: deps all
	@CERTFLOW_BUILD=$(abspath $(BUILD)) scripts/alloc-profile

run: deps all
	@CERTFLOW_BUILD=$(abspath $(BUILD)) scripts/devstack run

# libFuzzer targets (tests/fuzz/fuzz_*.c) for lib/'s parsers of untrusted
# input, against lib/ rebuilt with clang, coverage, ASan and UBSan in
# build/fuzz/, and fuzz_http for certflowd's HTTP front, against daemon/
# rebuilt the same way. `make fuzz` runs each for FUZZ_SECONDS (tests/fuzz/run); any
# crash, leak, undefined behaviour or broken invariant fails. fuzz-smoke is
# the short run CI does.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_DIR	:= build/fuzz
FUZZ_SANFLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS	 = $(filter-out $(SANFLAGS),$(ALL_CFLAGS)) -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS)
FUZZ_LIBS	 = $$(pkg-config --libs jansson libcrypto zlib) -lm
FUZZ_TARGETS	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_LIB_BINS	:= $(filter-out $(FUZZ_DIR)/fuzz_http,$(FUZZ_BINS))
FUZZ_DAEMON_OBJS := $(patsubst %.c,$(FUZZ_DIR)/%.o,$(filter-out daemon/main.c,$(DAEMON_SRCS)))

.PHONY: fuzz fuzz-smoke fuzz-build

$(FUZZ_DIR)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libcertflow.a: $(LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_LIB_BINS): $(FUZZ_DIR)/%: $(FUZZ_DIR)/tests/fuzz/%.o $(FUZZ_DIR)/libcertflow.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

# fuzz_http serves from daemon/'s objects (all but main.c), built the same way.
$(FUZZ_DIR)/daemon/db_migrate.o: $(wildcard sql/*.sql)

$(FUZZ_DIR)/libcertflowd.a: $(FUZZ_DAEMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_http: $(FUZZ_DIR)/tests/fuzz/fuzz_http.o $(FUZZ_DIR)/libcertflowd.a \
    $(FUZZ_DIR)/libcertflow.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

-include $(wildcard $(FUZZ_DIR)/lib/*.d $(FUZZ_DIR)/daemon/*.d $(FUZZ_DIR)/tests/fuzz/*.d)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/certflow/sql
	install -m 755 $(CERTFLOW) $(DESTDIR)$(PREFIX)/bin/certflow
	install -m 755 $(CERTFLOWD) $(DESTDIR)$(PREFIX)/sbin/certflowd
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/certflow/sql/

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
