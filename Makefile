# certflow - build, test and run.
#   make             build certflowd, certflow and libcertflow.a into build/
#   make check       every test (unit + integration) against a throwaway stack
#   make run         a development stack in the foreground (PostgreSQL, TLS, certflowd)
#   make SANITIZE=1  the same with AddressSanitizer and UndefinedBehaviorSanitizer (build/san)

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

.PHONY: all deps check unit docs-check integration check-valgrind run bench clean install
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

check: deps all unit docs-check integration

# The API description lists exactly the routes of daemon/routes.c.
docs-check:
	@scripts/check-openapi
	@scripts/check-workflow-doc

# The integration suite with certflowd under valgrind memcheck: any leak or
# invalid access fails the run (the conftest scans every certflowd log).
VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
check-valgrind: deps all
	CERTFLOWD_WRAPPER="$(VALGRIND)" CERTFLOW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -ra tests/integration

# Figures, not tests: a throwaway stack, a seeded data set, wrk (bench/results/latest.md).
bench: deps all
	@CERTFLOW_BUILD=$(abspath $(BUILD)) scripts/bench

run: deps all
	@CERTFLOW_BUILD=$(abspath $(BUILD)) scripts/devstack run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/certflow/sql
	install -m 755 $(CERTFLOW) $(DESTDIR)$(PREFIX)/bin/certflow
	install -m 755 $(CERTFLOWD) $(DESTDIR)$(PREFIX)/sbin/certflowd
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/certflow/sql/

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
