# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for espcap's live capture tests (tests/live).

The tests need root and `ip netns`: every module skips as a whole otherwise.
One pair of network namespaces is made per session (espcap-ns-a-TOKEN and
espcap-ns-b-TOKEN, joined by veth-a/veth-b, 10.199.X.1 and .2 on a /30 that
exists only inside them) and deleted at the end, even after failures.  espcap
runs in namespace a (`ip netns exec`), traffic comes from namespace b.

The indexing tests use a search node on the host's loopback: $ESPCAP_TEST_NODE
if set, else one started once for the module with tests/node/start-node.sh.
espcap, inside namespace a, reaches it through a small relay that listens on
127.0.0.1 in namespace a (livenet.Relay); taking the relay down is how a test
makes the node unreachable without restarting it.

Environment:
  ESPCAP_TEST_NODE   use this node for the indexing tests instead of starting one
"""

import os
import secrets
import socket
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import livenet as L  # noqa: E402

DEFAULT_PORT = 5555


@pytest.fixture(scope="session")
def live_token():
    return f"{os.getpid() % 100000}-{secrets.token_hex(2)}"


@pytest.fixture(scope="session")
def lab(live_token):
    """The two namespaces and their veth pair (torn down at the end of the session)."""
    why = L.live_problem()
    if why:
        pytest.skip(why)
    lab = L.Lab(live_token, subnet=1 + secrets.randbelow(254))
    try:
        lab.setup()
    except (RuntimeError, OSError, TimeoutError) as e:
        pytest.skip(f"cannot create the test namespaces: {e}")
    try:
        yield lab
    finally:
        lab.teardown()


@pytest.fixture
def tag(request, live_token):
    """A marker tag unique to this test."""
    name = request.node.name.replace("[", "-").replace("]", "")
    return f"{live_token}:{name}"[:60]


@pytest.fixture
def start_live(lab, espcap_bin, tmp_path):
    """start_live(*args, ns=None, name=None, binary=None) -> livenet.LiveRun: espcap (or
    BINARY) with ARGS in namespace a (or NS).

    Every run still going at the end of the test is killed."""
    runs = []

    def start(*args, ns=None, name=None, binary=None):
        name = name or f"espcap{len(runs)}"
        r = L.LiveRun(lab, ns or lab.ns_a, binary or espcap_bin, args, tmp_path, name=name)
        runs.append(r)
        return r

    yield start
    for r in runs:
        r.kill()


@pytest.fixture
def sender(lab):
    """sender(port=5555) -> livenet.UdpSender from namespace b to namespace a."""
    made = []

    def make(port=DEFAULT_PORT):
        s = L.UdpSender(lab.ns_b, lab.addr_a, port)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def sink(lab):
    """sink(port=5555): a UDP socket bound in namespace a, so that datagrams to PORT
    draw no ICMP port-unreachable answers (they are never read)."""
    made = []

    def make(port=DEFAULT_PORT):
        s = L.netns_socket(lab.ns_a, bind=(lab.addr_a, port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# --------------------------------------------------------------------------- nodes

@pytest.fixture(scope="module")
def live_node(tmp_path_factory):
    """A search node on the host's loopback for this module ($ESPCAP_TEST_NODE or own)."""
    given = os.environ.get("ESPCAP_TEST_NODE")
    if given:
        url = given if "://" in given else "http://" + given
        node = L.Node(url, owned=False)
        if not node.reachable():
            pytest.fail(f"ESPCAP_TEST_NODE={given} does not answer", pytrace=False)
        yield node
        return
    d = tmp_path_factory.mktemp("live-node")
    try:
        node = L.Node.start(d / "node.pid")
    except RuntimeError as e:
        pytest.fail(f"could not start the test node: {e}", pytrace=False)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def relay(lab, live_node):
    """A relay from 127.0.0.1:PORT in namespace a to the module's node."""
    r = L.Relay(lab.ns_a, (live_node.host, live_node.port))
    try:
        yield r
    finally:
        r.down()

