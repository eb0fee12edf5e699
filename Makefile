# espcap: "make" builds ./espcap; "make test" runs every test; see README.md.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc/espcap
VERSION    := 0.1.0

CC      ?= cc
PKGS    := wireshark glib-2.0 libcurl zlib libpcap
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DESPCAP_VERSION='"$(VERSION)"' \
           -DESPCAP_SYSCONFDIR='"$(SYSCONFDIR)"' $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lwiretap -lwsutil -lm

SRC := src/main.c src/pipeline.c \
       src/capture/cap_file.c src/capture/cap_dir.c src/capture/cap_live.c \
       src/dissect/dissect.c \
       src/doc/doc.c src/doc/json.c src/doc/naming.c src/doc/sections.c \
       src/sink/sink_stdout.c src/sink/sink_es.c src/sink/es_admin.c src/sink/es_bulk.c \
       src/sink/es_deadletter.c src/sink/es_engine.c src/sink/es_json.c src/sink/es_schema.c \
       src/sink/http_client.c src/sink/http_call.c src/sink/spool.c \
       src/util/buf.c src/util/log.c src/util/strset.c src/util/timefmt.c
OBJ := $(SRC:src/%.c=build/obj/%.o)
ASAN_OBJ := $(SRC:src/%.c=build/asan/%.o)

# Unit tests link only the modules that need no libwireshark (and, but for the HTTP
# client's, no curl).
UNIT_MODS := build/obj/doc/json.o build/obj/doc/naming.o build/obj/doc/sections.o \
             build/obj/sink/es_bulk.o build/obj/sink/es_deadletter.o build/obj/sink/es_engine.o \
             build/obj/sink/es_json.o build/obj/sink/es_schema.o build/obj/sink/spool.o \
             build/obj/util/buf.o build/obj/util/log.o build/obj/util/strset.o build/obj/util/timefmt.o
UNIT_TESTS := build/test_json build/test_naming build/test_sections build/test_timefmt build/test_es_json \
              build/test_es_schema build/test_es_engine build/test_es_deadletter build/test_es_bulk \
              build/test_spool build/test_http_client build/test_sink_es

.PHONY: all test unit bench install uninstall clean asan deps
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

build/test_%: tests/unit/test_%.c tests/unit/testhelp.h tests/unit/fakenode.h $(UNIT_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_MODS) -lm

# The HTTP client's test runs misbehaving servers on threads of its own.
HTTP_MODS := build/obj/sink/http_client.o build/obj/sink/http_call.o build/obj/util/buf.o \
             build/obj/util/log.o
build/test_http_client: tests/unit/test_http_client.c tests/unit/testhelp.h tests/unit/fakenode.h \
                        $(HTTP_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(HTTP_MODS) -lcurl -lz -lpthread

# The bulk sink's wiring, against a fake node: all of src/sink/ but the stdout sink.
SINK_MODS := $(filter-out build/obj/util/buf.o build/obj/util/log.o,$(HTTP_MODS)) $(UNIT_MODS) \
             build/obj/sink/sink_es.o build/obj/sink/es_admin.o
build/test_sink_es: tests/unit/test_sink_es.c tests/unit/testhelp.h tests/unit/fakenode.h $(SINK_MODS)
	$(CC) $(CFLAGS) -o $@ $< $(SINK_MODS) -lcurl -lz -lpthread -lm

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

# The whole suite: unit tests, then golden/oracle/corpus/CLI tests (pytest).
test: all asan unit
	python3 -m pytest -q tests

bench: all
	bench/run.sh

install: espcap
	install -D -m 755 espcap $(DESTDIR)$(PREFIX)/bin/espcap
	install -D -m 644 conf/protocols.list $(DESTDIR)$(SYSCONFDIR)/protocols.list

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/espcap $(DESTDIR)$(SYSCONFDIR)/protocols.list

clean:
	rm -rf build espcap
