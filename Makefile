# espcap: "make" builds ./espcap; "make test" runs every test; see README.md.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc/espcap
MANDIR     ?= $(PREFIX)/share/man
VERSION    := 0.1.0

CC      ?= cc
PKGS    := wireshark glib-2.0 libcurl zlib libpcap
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DESPCAP_VERSION='"$(VERSION)"' \
           -DESPCAP_SYSCONFDIR='"$(SYSCONFDIR)"' $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lwiretap -lwsutil -lm

SRC := src/main.c src/pipeline.c src/report.c src/opt/opt.c src/opt/options.c \
       src/capture/cap_file.c src/capture/cap_dir.c src/capture/cap_live.c \
       src/capture/cap_feed.c src/capture/cap_state.c src/capture/cap_watch.c \
       src/dissect/dis_init.c src/dissect/dissect.c \
       src/doc/doc.c src/doc/envelope.c src/doc/fieldsel.c src/doc/community_id.c src/doc/json.c \
       src/doc/naming.c src/doc/sections.c \
       src/sink/sink_stdout.c src/sink/sink_es.c src/sink/es_admin.c src/sink/es_bulk.c \
       src/sink/es_deadletter.c src/sink/es_engine.c src/sink/es_json.c src/sink/es_schema.c \
       src/sink/http_client.c src/sink/http_call.c src/sink/spool.c \
       src/util/buf.c src/util/fsafe.c src/util/log.c src/util/strset.c src/util/timefmt.c \
       src/util/url.c \
       src/worker/farm.c src/worker/flowhash.c src/worker/privdrop.c src/worker/recwire.c \
       src/worker/ring.c src/worker/worker.c src/worker/zygote.c
OBJ := $(SRC:src/%.c=build/obj/%.o)
ASAN_OBJ := $(SRC:src/%.c=build/asan/%.o)

# Unit tests link only the modules that need no libwireshark (and, but for the HTTP
# client's, no curl).
UNIT_MODS := build/obj/doc/json.o build/obj/doc/envelope.o build/obj/doc/fieldsel.o \
             build/obj/doc/community_id.o build/obj/doc/naming.o build/obj/doc/sections.o \
             build/obj/sink/es_bulk.o build/obj/sink/es_deadletter.o build/obj/sink/es_engine.o \
             build/obj/sink/es_json.o build/obj/sink/es_schema.o build/obj/sink/spool.o \
             build/obj/util/buf.o build/obj/util/log.o build/obj/util/strset.o \
             build/obj/util/timefmt.o build/obj/util/fsafe.o build/obj/worker/ring.o build/obj/worker/flowhash.o
UNIT_TESTS := build/test_json build/test_naming build/test_sections build/test_timefmt build/test_es_json \
              build/test_community_id build/test_fieldsel build/test_ring build/test_flowhash \
              build/test_es_schema build/test_es_engine build/test_es_deadletter build/test_es_bulk \
              build/test_spool build/test_http_client \
              build/test_opt build/test_cap_state
# The option table checks values of --node with the HTTP client's node-list parser, and of
# --index-interval with the index schema's.
OPT_MODS := build/obj/opt/opt.o build/obj/opt/options.o build/obj/sink/http_client.o \
            build/obj/sink/es_json.o build/obj/sink/es_schema.o build/obj/doc/json.o \
            build/obj/util/timefmt.o build/obj/util/log.o build/obj/util/buf.o \
            build/obj/util/url.o build/obj/util/fsafe.o

.PHONY: all test unit bench install uninstall clean asan deps docs
all: espcap build/capgen

espcap: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/obj/%.o: src/%.c $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: src/%.c $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -c -o $@ $<

asan: build/espcap-asan
build/espcap-asan: $(ASAN_OBJ)
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(LDLIBS)

build/capgen: tools/capgen.c
	@mkdir -p build
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ $<

build/test_%: tests/unit/test_%.c tests/unit/testhelp.h $(UNIT_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_MODS) $(shell pkg-config --libs glib-2.0) -lm

build/test_opt: tests/unit/test_opt.c tests/unit/testhelp.h $(OPT_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(OPT_MODS) $(shell pkg-config --libs libcurl zlib) -lm

build/test_cap_state: tests/unit/test_cap_state.c tests/unit/testhelp.h build/obj/capture/cap_state.o build/obj/util/buf.o
	$(CC) $(CFLAGS) -o $@ $< build/obj/capture/cap_state.o build/obj/util/buf.o

# The HTTP client's test runs misbehaving HTTP servers (no search engine: what depends on an
# engine's answers is tested against a real node, tests/es) on threads of its own.
HTTP_MODS := build/obj/sink/http_client.o build/obj/sink/http_call.o build/obj/util/buf.o \
             build/obj/util/log.o build/obj/util/url.o
build/test_http_client: tests/unit/test_http_client.c tests/unit/testhelp.h tests/unit/rawhttp.h \
                        $(HTTP_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(HTTP_MODS) -lcurl -lz -lpthread

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

# The whole suite: unit tests, then golden/oracle/corpus/CLI tests (pytest), printing the
# slowest 25 steps (CI budget: well under 20 minutes on 2 cores, docs/testing.md).
test: all asan unit
	python3 -m pytest -q --durations=25 tests

bench: all
	bench/run.sh

# The man page and README's option table come from the option table (src/opt/options.c);
# tests/test_options.py fails when the committed copies are out of date.
docs: espcap
	python3 scripts/options_docs.py --update

install: espcap
	install -D -m 755 espcap $(DESTDIR)$(PREFIX)/bin/espcap
	install -D -m 644 conf/protocols.list $(DESTDIR)$(SYSCONFDIR)/protocols.list
	install -D -m 644 docs/espcap.1 $(DESTDIR)$(MANDIR)/man1/espcap.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/espcap $(DESTDIR)$(SYSCONFDIR)/protocols.list \
	      $(DESTDIR)$(MANDIR)/man1/espcap.1

clean:
	rm -rf build espcap
