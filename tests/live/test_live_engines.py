# SPDX-License-Identifier: GPL-2.0-or-later
"""Live capture indexed into the other engines (issue 10, item 1): OpenSearch 3 and
Elasticsearch 7.17, each a node of this module's own (OpenSearch 2 is
test_live_index.py's node). What the engine decides is checked: every captured packet
once, in the daily index of its time, with espcap's typed mappings."""

import os
import time
from datetime import datetime, timezone

import pytest

import livenet as L

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)

from test_live_index import BPF, PORT, check_exactly_once, index_args, nums  # noqa: E402

ENGINES = ("os3", "es7")


@pytest.fixture(scope="module", params=ENGINES)
def engine_node(request, tmp_path_factory):
    engine = request.param
    chosen = os.environ.get("ESPCAP_TEST_ENGINES")
    if chosen and engine not in chosen.split(","):
        pytest.skip(f"ESPCAP_TEST_ENGINES={chosen} leaves out {engine}")
    d = tmp_path_factory.mktemp(f"live-{engine}")
    try:
        node = L.Node.start(d / "node.pid", flavor=engine)
    except RuntimeError as e:
        pytest.fail(f"could not start the {engine} test node: {e}", pytrace=False)
    try:
        yield engine, node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def engine_relay(lab, engine_node):
    r = L.Relay(lab.ns_a, (engine_node[1].host, engine_node[1].port))
    try:
        yield r
    finally:
        r.down()


def test_live_documents_are_indexed_on(engine_node, lab, start_live, sender, sink,
                                       engine_relay, live_token, tag, tmp_path):
    engine, node = engine_node
    prefix = f"espcap-live-{live_token}-{engine}".lower()
    node.clean(prefix)
    m = 200
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, f"--count={m}",
                     *index_args(engine_relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    for i in range(m + 30):
        s.send(L.marker(tag, i))
        time.sleep(0.001)
    res = run.finish(timeout=90)
    assert res.rc == 0, res.describe()
    summ = L.summary_stats(res.stderr)
    assert nums(summ, "documents", "indexed", "dropped", "rejected") == [m, m, 0, 0], summ
    hits = node.all_docs(prefix)
    assert len(hits) == m, f"{len(hits)} documents in {prefix}-*, {m} captured"
    check_exactly_once(hits, s.sent[:m])
    for h in hits:
        day = datetime.fromtimestamp(h["_source"]["sniff_timestamp"],
                                     timezone.utc).strftime("%Y-%m-%d")
        assert h["_index"] == f"{prefix}-{day}", h["_index"]
    _, maps = node.request("GET", f"/{prefix}-*/_mapping")
    for index, mp in maps.items():
        layers = mp["mappings"]["properties"]["layers"]["properties"]
        assert layers["network"]["properties"]["ip"]["properties"]["src"]["type"] == "ip"
        assert layers["transport"]["properties"]["udp"]["properties"]["dstport"]["type"] \
            == "long"
    assert not list(spool.glob("*.bulk")) if spool.exists() else True
    node.clean(prefix)
