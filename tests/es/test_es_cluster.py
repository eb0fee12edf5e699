# SPDX-License-Identifier: GPL-2.0-or-later
"""A real cluster (issue 10, item 2): three OpenSearch 3 nodes (three JVMs on loopback
ports, replicas 1), espcap given all three with --node, one node killed with kill -9 in
the middle of the run and restarted later.

What the nodes themselves say is the oracle: every _bulk request a node receives is
written to its log by OpenSearch's HTTP tracer (the dynamic cluster setting
logger.org.opensearch.http.HttpTracer=TRACE), so the test counts, per node and per
phase, the requests espcap sent there. The capture is fed to espcap through a pipe
(--file=-), so the test decides how far the run has got at each step.
"""

import json
import os
import re
import struct
import subprocess
import time
from pathlib import Path

import pytest

from es_support import summary_from_text
from helpers.cluster import Cluster, ClusterError

FLAVOR = os.environ.get("ESPCAP_TEST_CLUSTER_FLAVOR", "os3")
PREFIX = "packets"   # the default: the retry warnings then say " on packets-..."


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        c = Cluster(3, flavor=FLAVOR, base_dir=tmp_path_factory.mktemp("cluster"),
                    java_opts="-Xms256m -Xmx512m", timeout=400)
    except ClusterError as e:
        pytest.fail(f"the three-node {FLAVOR} cluster did not start: {e}", pytrace=False)
    try:
        st, ans = c.request(0, "PUT", "/_cluster/settings", {"persistent": {
            "logger.org.opensearch.http.HttpTracer": "TRACE",
            "http.tracer.include": "*_bulk*"}})
        assert st == 200, ans
        yield c
    finally:
        c.stop()


def bulk_requests(c, i):
    """{log file: _bulk requests received} of node i (one log per start of the node)."""
    out = {}
    for log in sorted((c.dir / f"node-{i}" / "tmp").glob("*/node/logs/*.log")):
        text = log.read_text("utf-8", "replace")
        out[str(log)] = sum(1 for line in text.splitlines()
                            if "received request" in line and "/_bulk" in line)
    return out


def total(counts):
    return sum(counts.values())


def pcap_pieces(path, fractions):
    """The capture's bytes cut at record boundaries near each fraction of its records."""
    data = Path(path).read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "a little-endian pcap file"
    offsets, off = [], 24
    while off < len(data):
        offsets.append(off)
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    cuts = [0] + [offsets[int(f * len(offsets))] for f in fractions] + [len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def wait(cond, timeout, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def count(c, prefix, node):
    st, ans = c.request(node, "POST", f"/{prefix}-*/_refresh")
    st, ans = c.request(node, "GET", f"/{prefix}-*/_count")
    return ans["count"] if st == 200 else -1


@pytest.fixture(scope="module")
def capture(capgen_bin, tmp_path_factory):
    """build/capgen bench N: N packets over 36 hours from 2024-03-01 00:00 UTC."""
    n = int(os.environ.get("ESPCAP_TEST_CLUSTER_N", "20000"))
    out = tmp_path_factory.mktemp("cluster-capture") / f"bench{n}.pcap"
    subprocess.run([str(capgen_bin), "bench", str(n), str(out)], check=True,
                   capture_output=True, timeout=120)
    return out, n


def test_kill_a_node_mid_run(cluster, capture, espcap_bin, tmp_path):
    c = cluster
    pcap, n = capture
    for i in range(3):
        c.request(i, "DELETE", f"/{PREFIX}-*")
    # before midnight (the first ~2/3); the rest crosses into 2024-03-02, whose index is
    # made while a node is dead
    first, second, rest = pcap_pieces(pcap, [0.35, 0.8])
    victim = 1
    others = [i for i in range(3) if i != victim]
    nodes = ",".join(c.urls)
    js = tmp_path / "summary.json"
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(
        [str(espcap_bin), "--file=-", f"--node={nodes}", f"--index-prefix={PREFIX}",
         "--chunk=250", "--flush-interval=0.3", "--workers=1",
         f"--rejected={tmp_path}/rejected.ndjson", f"--summary-json={js}"],
        cwd=str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    err.close()

    def stderr():
        return (tmp_path / "stderr.txt").read_text("utf-8", "replace")

    def feed(data):
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except BrokenPipeError:
            pytest.fail(f"espcap ended (exit {proc.wait()}) while being fed:\n{stderr()[-3000:]}")

    phases = {}
    try:
        feed(first)
        assert wait(lambda: count(c, PREFIX, others[0]) >= n // 10, 120), \
            f"espcap did not index {n // 10} documents:\n{stderr()[-2000:]}"
        phases["before"] = {i: total(bulk_requests(c, i)) for i in range(3)}
        c.kill(victim)                                  # kill -9
        t_kill = time.monotonic()
        at_kill = count(c, PREFIX, others[0])
        # (a write returns once espcap has read most of it: the pipe holds 64 KiB)
        feed(second)
        # the two live nodes carry on: documents keep landing while the victim is dead
        assert wait(lambda: count(c, PREFIX, others[0]) >= at_kill + n // 10, 180), \
            (f"nothing indexed after the kill ({at_kill} then {count(c, PREFIX, others[0])}; "
             f"{c.health(others[0])}; {c.request(others[0], 'GET', '/_cat/shards?v')[1]}):\n"
             f"{stderr()[-3000:]}")
        assert wait(lambda: c.urls[victim].split("//")[1] in stderr(), 30), \
            f"no message names the dead node {c.urls[victim]}:\n{stderr()[-3000:]}"
        assert proc.poll() is None, stderr()[-3000:]
        phases["dead"] = {i: total(bulk_requests(c, i)) for i in range(3)}
        dead_for = time.monotonic() - t_kill
        old_logs = set(bulk_requests(c, victim))
        try:
            c.restart(victim)
        except ClusterError as e:
            pytest.fail(f"could not restart node {victim}: {e}", pytrace=False)

        def victim_used_again():
            return any(v for k, v in bulk_requests(c, victim).items() if k not in old_logs)
        # espcap's back-off is at most 30 s: feed the rest slowly until it uses the node
        pieces = [rest[k:k + 65536] for k in range(0, len(rest), 65536)]
        k = 0
        t_back = time.monotonic()
        while k < len(pieces) and not victim_used_again() and time.monotonic() - t_back < 90:
            feed(pieces[k])
            k += 1
            time.sleep(max(0.2, 60.0 / len(pieces)))
        used_again = wait(victim_used_again, 45)
        back_after = time.monotonic() - t_back
        feed(b"".join(pieces[k:]))
        proc.stdin.close()
        rc = proc.wait(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = stderr()
    phases["end"] = {i: total(bulk_requests(c, i)) for i in range(3)}
    print(f"cluster test: victim {victim} dead for {dead_for:.0f} s, used again "
          f"{back_after:.0f} s after its restart; _bulk requests per node {phases}")

    # every document exactly once
    assert rc == 0, f"exit status {rc}\n{text[-3000:]}"
    s = summary_from_text(text)
    assert s["documents"] == n and s["rejected"] == 0, text[-1500:]
    assert s["indexed"] + s["already_present"] == n, text[-1500:]
    summary = json.loads(js.read_text())
    assert summary["indexed"] + summary["already_present"] == n and summary["exit_status"] == 0
    assert not (tmp_path / "rejected.ndjson").exists()
    c.wait_for("green", timeout=240)
    assert count(c, PREFIX, victim) == n, "documents lost or doubled"
    _, ans = c.request(others[0], "POST", f"/{PREFIX}-*/_search", {
        "size": 0, "track_total_hits": True,
        "aggs": {"f": {"stats": {"field": "frame_number"}},
                 "twice": {"terms": {"field": "frame_number", "min_doc_count": 2, "size": 5}}}})
    st = ans["aggregations"]["f"]
    assert (st["count"], st["min"], st["max"], st["sum"]) == (n, 1, n, n * (n + 1) // 2), st
    assert ans["aggregations"]["twice"]["buckets"] == [], "a frame indexed twice"
    _, idx = c.request(others[0], "GET", f"/_cat/indices/{PREFIX}-*?format=json&h=index")
    assert sorted(r["index"] for r in idx) == [f"{PREFIX}-2024-03-01", f"{PREFIX}-2024-03-02"]

    # requests spread over the nodes: all three before the kill, the two live ones while
    # the victim was dead, and the victim again once it answered
    before, dead, end = phases["before"], phases["dead"], phases["end"]
    assert all(before[i] > 0 for i in range(3)), f"not every node got requests: {before}"
    assert all(dead[i] > before[i] for i in others), \
        f"the live nodes got no requests while node {victim} was dead: {phases}"
    assert used_again, (f"node {victim} got no _bulk request within "
                        f"{back_after:.0f} s of its restart: {phases}\n{text[-2000:]}")

    # a warning names the dead node; one about documents that wait says why, and where
    warnings = [l for l in text.splitlines() if l.startswith("espcap: warning:")]
    host = c.urls[victim].split("//")[1]
    assert any(host in w for w in warnings), f"no warning names {host}:\n{text[-3000:]}"
    # `N documents wait for NODE: REASON; retrying in X s`: a whole request that failed
    # says its HTTP status or transport error (curl's words); failures of single items name
    # the engine's error type and the index, never just "documents answered 429 or 5xx".
    whole = re.compile(r"^(HTTP \d{3}|Couldn't|Connection|Recv failure|Send failure|Failed|"
                       r"Failure|Timeout|Empty reply|Server returned nothing|"
                       r"an answer larger|an unreadable)", re.I)
    item = (r"(?:[a-z_]+_exception|HTTP \d{3}) on " + PREFIX +
            r"-\d{4}-\d{2}-\d{2}(?: \+\d+ more)?")
    for w in warnings:
        m = re.match(r"espcap: warning: \d+ documents wait for (\S+): (.*); retrying in ", w)
        if not m:
            continue
        why = m.group(2)
        assert "answered 429 or 5xx" not in why, w
        if not whole.match(why):
            assert re.fullmatch(item, why), \
                f"a retry warning for item failures without the reason and index: {w}"
