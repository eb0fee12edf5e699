# SPDX-License-Identifier: GPL-2.0-or-later
"""A sensor's day: espcap --dir=D --watch --node=... into a real OpenSearch node, with
captures copied in while it runs, one written slowly over several seconds, a clean restart
in the middle of that write, a crash (SIGKILL) in the middle of a file: every packet is
indexed exactly once."""

import shutil
import signal
import subprocess
import threading
import time

import pytest

from helpers.watch import Watch, write_slowly


def per_file(node, prefix):
    node.refresh(prefix)
    body = {"size": 0, "aggs": {"f": {"terms": {"field": "file_name", "size": 100}}}}
    _, res = node.request("POST", f"/{prefix}-*/_search", body)
    return {b["key"]: b["doc_count"] for b in res["aggregations"]["f"]["buckets"]}


def wait_count(node, prefix, want, w, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = node.count(prefix)
        if n >= want:
            return n
        assert w.p.poll() is None, f"espcap ended ({w.p.returncode}):\n{w.stderr()[-2000:]}"
        time.sleep(0.5)
    raise AssertionError(f"{node.count(prefix)} documents after {timeout}s, want {want}:\n"
                         f"{w.stderr()[-2000:]}")


@pytest.fixture
def watches():
    made = []
    yield made
    for w in made:
        if w.p.poll() is None:
            w.p.kill()
            w.p.wait(10)


def test_watch_indexes_every_packet_once(es_node, prefix, sample_pcap, capgen_bin, tmp_path,
                                         run_espcap, espcap_bin, watches):
    es_node.clean(prefix)
    n = len(run_espcap(f"--file={sample_pcap}").lines)
    big = tmp_path / "big.pcap"
    subprocess.run([str(capgen_bin), "bench", "20000", str(big)], check=True,
                   capture_output=True, timeout=120)
    data = sample_pcap.read_bytes()
    d = tmp_path / "captures"
    d.mkdir()
    state = tmp_path / "watch.state"
    args = [f"--node={es_node.hostport}", f"--index-prefix={prefix}",
            f"--rejected={tmp_path}/rejected.ndjson", "--flush-interval=0.2"]

    shutil.copy(sample_pcap, d / "a.pcap")
    w1 = Watch(espcap_bin, d, state, *args,
               cwd=tmp_path, name="w1")
    watches.append(w1)
    wait_count(es_node, prefix, n, w1)
    shutil.copy(sample_pcap, d / "b.pcap")
    wait_count(es_node, prefix, 2 * n, w1)
    # c.pcap is written slowly; espcap restarts (SIGTERM) while it is being written
    slow = threading.Thread(target=write_slowly, args=(d / "c.pcap", data, 6, 1.0))
    slow.start()
    time.sleep(2)
    assert w1.stop(signal.SIGTERM) == 0, w1.stderr()
    assert es_node.count(prefix) == 2 * n, "c.pcap was indexed before its writer closed it"
    shutil.copy(sample_pcap, d / "d.pcap")       # arrives while espcap is down
    slow.join()
    w2 = Watch(espcap_bin, d, state, *args, cwd=tmp_path, name="w2")
    watches.append(w2)
    wait_count(es_node, prefix, 4 * n, w2)
    # a crash in the middle of a file: it was not done, so it is read again, and the
    # documents that had landed answer 409 instead of doubling (the files done before are
    # in the state file within a second)
    time.sleep(1.5)
    shutil.copy(big, d / "e-big.pcap")
    deadline = time.monotonic() + 120
    while es_node.count(prefix) <= 4 * n and time.monotonic() < deadline:
        time.sleep(0.2)
    w2.p.send_signal(signal.SIGKILL)
    w2.p.wait(30)
    landed = es_node.count(prefix) - 4 * n
    assert 0 < landed < 20000, f"{landed} of 20000 documents of e-big.pcap before the crash"
    assert "e-big.pcap" not in state.read_text()
    w3 = Watch(espcap_bin, d, state, *args, cwd=tmp_path, name="w3")
    watches.append(w3)
    wait_count(es_node, prefix, 4 * n + 20000, w3, timeout=300)
    time.sleep(2)                                # the state file is written once a second
    assert w3.stop(signal.SIGINT) == 0, w3.stderr()

    total = es_node.count(prefix)
    assert total == 4 * n + 20000, f"{total} documents: some packet was indexed twice or not"
    files = per_file(es_node, prefix)
    assert files == {f"{d}/a.pcap": n, f"{d}/b.pcap": n, f"{d}/c.pcap": n, f"{d}/d.pcap": n,
                     f"{d}/e-big.pcap": 20000}, files
    summ = [l for l in w3.stderr().splitlines() if l.startswith("espcap: summary: ")][-1]
    stats = dict(t.split("=", 1) for t in summ.split(": ", 2)[2].split())
    assert int(stats["already_present"]) >= 1, summ
    assert int(stats["indexed"]) + int(stats["already_present"]) == 20000, summ
    for line in state.read_text().splitlines()[2:]:
        assert line.split(" ")[2] == "whole", line
    # a fourth run has nothing to do
    w4 = Watch(espcap_bin, d, state, *args, cwd=tmp_path, name="w4")
    watches.append(w4)
    deadline = time.monotonic() + 60
    while "left out" not in w4.stderr() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    assert w4.stop() == 0
    assert "5 files done in an earlier run" in w4.stderr(), w4.stderr()
    assert es_node.count(prefix) == total

