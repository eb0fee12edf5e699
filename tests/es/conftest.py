# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for espcap's indexing tests against a REAL search node (tests/node).

Run from the repository root (`python3 -m pytest tests/es`), so that the
fixtures of tests/conftest.py are visible here.

The shared node is started once per test session by tests/node/start-node.sh,
unless ESPCAP_TEST_NODE=http://host:port names an existing cluster: then that
one is used and never stopped.  Tests that need a node of their own (tiny write
queue, stop and restart) start it themselves, once per module.

Engines: most tests run on the shared OpenSearch 2 node (es_node); the tests that
exercise what differs between engines (template kind, mapping types, bulk answers,
retries, dead letters, index settings) take `any_node`, which runs them on every
engine the launcher starts: os2 (OpenSearch 2.19), os3 (OpenSearch 3.x) and es7
(Elasticsearch 7.17); see docs/testing.md for why not all of them.

Environment:
  ESPCAP_TEST_NODE     use this cluster instead of starting one (for es_node)
  ESPCAP_TEST_ENGINES  engines of `any_node` (default os2,os3,es7); the others skip,
                       saying so (an opt-out, not a failure under CI=true)
  ESPCAP_TEST_ES7=0    do not try the Elasticsearch 7.17 node (those tests skip)
  ESPCAP_TEST_BENCH_N  packets in the generated bench capture (default 40000; the
                       issue suggested 60000, which costs ~25 s more)
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_support import (NODE_DIR, Indexed, Node, NodeLauncher, NodeStartError,  # noqa: E402
                        prefix_for)


def _jar_fresh(module, flavor="os2"):
    """Like start-node.sh: the flavour's launcher jar exists and is newer than its sources."""
    jar = module / "target" / flavor / f"espcap-testnode-{flavor}.jar"
    if not jar.exists() or not (module / "target" / flavor / "lib").is_dir():
        return False
    t = jar.stat().st_mtime
    srcs = [module / "pom.xml"] + [p for p in (module / "src").rglob("*") if p.is_file()]
    return all(p.stat().st_mtime <= t for p in srcs)


class NodePool:
    """Starts the nodes the selected tests need in the background, at once (they
    take 5-10 s each), and stops them without waiting (waited for at the end)."""

    def __init__(self, base):
        self.base = base
        self.launchers = {}
        self.stops = []

    def spec(self, name):
        """(launcher options, flavor) of each kind of node."""
        if name == "es":
            return (), None
        if name in ("os3", "es7"):
            return (), name
        if name == "busy":
            return ("--write-queue", 1, "--write-threads", 1), None
        if name == "restart":
            data = self.base / "restart-data"
            data.mkdir(exist_ok=True)
            return ("--data", data), None
        raise KeyError(name)

    def launch(self, name, timeout=240):
        if name not in self.launchers:
            opts, flavor = self.spec(name)
            self.launchers[name] = NodeLauncher(self.base / f"{name}.pid", *opts,
                                                flavor=flavor, timeout=timeout)
        return self.launchers[name]

    def get(self, name, timeout=240):
        """The started node NAME (NodeStartError if it did not start)."""
        return self.launch(name, timeout).result()

    def stop(self, node):
        p = node.stop_async()
        if p is not None:
            self.stops.append(p)

    def close(self):
        for launcher in self.launchers.values():
            if launcher._node is None:     # launched, never asked for
                launcher.discard()
        for p in self.stops:
            try:
                p.wait(timeout=90)
            except subprocess.TimeoutExpired:
                pass


def _wanted_nodes(items):
    want = set()
    here = Path(__file__).resolve().parent
    for item in items:
        if here not in Path(str(item.fspath)).resolve().parents:
            continue   # not one of ours (another folder may have fixtures of the same name)
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "es_node" in names or params.get("any_node") == "os2":
            want.add("es")
        if "os3_node" in names or params.get("any_node") == "os3":
            want.add("os3")
        if "es7_node" in names or params.get("any_node") == "es7":
            want.add("es7")
        if "busy_node" in names:
            want.add("busy")
        if "restart_node" in names:
            want.add("restart")
    if os.environ.get("ESPCAP_TEST_NODE"):
        want.discard("es")
    if os.environ.get("ESPCAP_TEST_ES7", "1") == "0":
        want.discard("es7")
    for engine in ("os3", "es7"):
        if engine not in selected_engines():
            want.discard(engine)
    return want


def pytest_collection_modifyitems(session, config, items):
    """The three-node cluster test (test_es_cluster.py) runs last of tests/es: first, its
    three JVMs would start together with the session's other nodes (eight JVMs on two
    cores); last, they start while those sit idle."""
    here = Path(__file__).resolve().parent

    def ours(item):
        return Path(str(item.fspath)).resolve().parent == here

    cluster = [it for it in items if ours(it) and Path(str(it.fspath)).name == "test_es_cluster.py"]
    if not cluster:
        return
    rest = [it for it in items if it not in cluster]
    last = max((k for k, it in enumerate(rest) if ours(it)), default=len(rest) - 1)
    items[:] = rest[:last + 1] + cluster + rest[last + 1:]


ENGINES = ("os2", "os3", "es7")


def selected_engines():
    """The engines ESPCAP_TEST_ENGINES selects for any_node (default: all)."""
    given = os.environ.get("ESPCAP_TEST_ENGINES")
    if not given:
        return ENGINES
    return tuple(e.strip() for e in given.split(",") if e.strip())


def _engine_opt_out(engine):
    if engine not in selected_engines():
        pytest.skip(f"ESPCAP_TEST_ENGINES={os.environ.get('ESPCAP_TEST_ENGINES')} leaves out "
                    f"{engine}")


@pytest.fixture(scope="session", autouse=True)
def node_pool(request, tmp_path_factory):
    pool = NodePool(tmp_path_factory.mktemp("nodes"))
    want = _wanted_nodes(request.session.items)
    try:
        if want:
            for engine in ("os3", "es7"):
                if engine in want:
                    pool.launch(engine, timeout=240)
            os_nodes = [n for n in ("es", "busy", "restart") if n in want]
            if os_nodes and not _jar_fresh(NODE_DIR):
                # the first start builds the launcher: no concurrent Maven builds
                try:
                    pool.get(os_nodes[0])
                except NodeStartError:
                    pass   # reported by the fixture that needs it
            for n in os_nodes:
                pool.launch(n)
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def es_node(node_pool):
    """The shared OpenSearch node of the session (or $ESPCAP_TEST_NODE)."""
    given = os.environ.get("ESPCAP_TEST_NODE")
    if given:
        url = given if "://" in given else "http://" + given
        node = Node(url, owned=False)
        info = node.info()
        node.flavor = info.get("version", {}).get("distribution", "elasticsearch")
        yield node
        return
    try:
        node = node_pool.get("es")
    except NodeStartError as e:
        pytest.fail(f"could not start the OpenSearch test node: {e}", pytrace=False)
    yield node
    node_pool.stop(node)


@pytest.fixture(scope="session")
def es7_node(node_pool):
    """An Elasticsearch 7.17 node (ESPCAP_NODE_FLAVOR=es7); skips if it cannot start."""
    if os.environ.get("ESPCAP_TEST_ES7", "1") == "0":
        pytest.skip("ESPCAP_TEST_ES7=0")
    try:
        node = node_pool.get("es7", timeout=180)
    except NodeStartError as e:
        pytest.skip(f"the Elasticsearch 7.17 test node did not start: {str(e)[-600:]}")
    yield node
    node_pool.stop(node)


@pytest.fixture(scope="session")
def os3_node(node_pool):
    """An OpenSearch 3.x node (ESPCAP_NODE_FLAVOR=os3, on a Java 21+)."""
    _engine_opt_out("os3")
    try:
        node = node_pool.get("os3", timeout=240)
    except NodeStartError as e:
        pytest.fail(f"could not start the OpenSearch 3 test node: {e}", pytrace=False)
    yield node
    node_pool.stop(node)


@pytest.fixture(params=ENGINES)
def any_node(request):
    """The test once per engine: the shared OpenSearch 2 node, an OpenSearch 3 node, an
    Elasticsearch 7.17 node."""
    _engine_opt_out(request.param)
    if request.param == "es7":
        return request.getfixturevalue("es7_node")
    if request.param == "os3":
        return request.getfixturevalue("os3_node")
    return request.getfixturevalue("es_node")


@pytest.fixture(scope="module")
def busy_node(node_pool):
    """A node with one write thread and a write queue of 1: it answers 429."""
    try:
        node = node_pool.get("busy")
    except NodeStartError as e:
        pytest.fail(f"could not start the node: {e}", pytrace=False)
    yield node
    node_pool.stop(node)


@pytest.fixture(scope="module")
def restart_node(node_pool):
    """A node with a kept data folder, for a test that stops and starts it:
    {"node": Node, "data": its data folder, "dir": a folder for pid files};
    the test puts the node it started in "node"."""
    try:
        node = node_pool.get("restart")
    except NodeStartError as e:
        pytest.fail(f"could not start the node: {e}", pytrace=False)
    state = {"node": node, "data": node_pool.spec("restart")[0][1], "dir": node_pool.base}
    yield state
    node_pool.stop(state["node"])


@pytest.fixture
def prefix(request):
    """This test's own index prefix (t-<test name>)."""
    return prefix_for(request.node.name)


@pytest.fixture(scope="session")
def index_run(run_espcap):
    """index_run(node, prefix, *args, cwd=None, timeout=..., env=None) -> Result.

    Runs espcap with --node and --index-prefix after cleaning PREFIX on NODE."""
    def run(node, prefix, *args, cwd=None, timeout=180, env=None, clean=True):
        if clean:
            node.clean(prefix)
        return run_espcap(f"--node={node.hostport}", f"--index-prefix={prefix}", *args,
                          cwd=cwd, timeout=timeout, env=env)
    return run


@pytest.fixture(scope="session")
def indexed(index_run, tmp_path_factory):
    """indexed(node, path) -> Indexed: PATH indexed into NODE under its own
    prefix, once per session (the first test to ask pays)."""
    cache = {}

    def get(node, path):
        key = (node.url, str(path))
        if key not in cache:
            stem = re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower())
            prefix = f"t-idx-{node.flavor}-{stem}"   # (engines share no node, but say which)
            wd = tmp_path_factory.mktemp(f"idx-{stem}")
            res = index_run(node, prefix, f"--file={path}", f"--rejected={wd}/rejected.ndjson",
                            cwd=wd)
            cache[key] = Indexed(node, prefix, Path(path), res, wd)
        return cache[key]
    return get


@pytest.fixture(scope="session")
def bench_pcap(capgen_bin, tmp_path_factory):
    """A larger generated capture: build/capgen bench N (N = $ESPCAP_TEST_BENCH_N or 40000)."""
    n = int(os.environ.get("ESPCAP_TEST_BENCH_N", "40000"))
    out = tmp_path_factory.mktemp("bench") / f"bench{n}.pcap"
    p = subprocess.run([str(capgen_bin), "bench", str(n), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"capgen bench failed ({p.returncode}): {p.stderr}"
    return out, n
