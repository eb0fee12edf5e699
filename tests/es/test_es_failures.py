# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --node when things go wrong: a node that goes away and comes back, a
node that answers 429, a node that cannot be reached at start, a signal in the
middle of a run. In file mode nothing read may be lost or doubled."""

import os
import re
import signal
import subprocess
import time

import pytest

from es_support import (NodeStartError, start_node, summary_from_text, summary_ints,
                        wait_for_count)

# busy_node and restart_node (nodes of this module's own) are in conftest.py, so
# that they can start in the background while other tests run.

RETRY_MESSAGE = re.compile(r"retry|wait", re.I)


def _spawn(espcap_bin, args, workdir):
    """Start espcap in the background; stderr goes to WORKDIR/stderr.txt."""
    err = open(workdir / "stderr.txt", "wb")
    proc = subprocess.Popen([str(espcap_bin)] + [str(a) for a in args], cwd=str(workdir),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    return proc


def _stderr(workdir):
    return (workdir / "stderr.txt").read_text("utf-8", "replace")


def _finish(proc, timeout):
    """Wait for PROC; kill it (and fail) if it takes longer than TIMEOUT."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"espcap did not finish within {timeout}s")


# ----------------------------------------------------------------------------- 5

def test_node_stopped_and_restarted(restart_node, bench_pcap, espcap_bin, tmp_path):
    node, data = restart_node["node"], restart_node["data"]
    pcap, n = bench_pcap
    prefix = "t-restart"
    node.clean(prefix)
    proc = _spawn(espcap_bin, [f"--file={pcap}", f"--node={node.hostport}",
                               f"--index-prefix={prefix}", "--chunk=500",
                               f"--rejected={tmp_path}/rejected.ndjson"], tmp_path)
    try:
        seen = wait_for_count(node, prefix, min(3000, n // 4), proc=proc, timeout=120)
        assert proc.poll() is None, \
            (f"espcap ended (exit {proc.returncode}) before the node could be stopped "
             f"({seen} documents); use a larger ESPCAP_TEST_BENCH_N\n{_stderr(tmp_path)}")
        assert 0 < seen < n
        node.stop()
        time.sleep(3)
        assert proc.poll() is None, \
            f"espcap gave up (exit {proc.returncode}) while the node was down:\n{_stderr(tmp_path)}"
        try:
            node = start_node(restart_node["dir"] / "second.pid", "--http-port", node.port,
                              "--data", data)
        except NodeStartError as e:
            pytest.fail(f"could not restart the node on port {node.port}: {e}", pytrace=False)
        restart_node["node"] = node
        rc = _finish(proc, 300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = _stderr(tmp_path)
    assert rc == 0, f"exit status {rc}\n{err[-3000:]}"
    s = summary_from_text(err)
    assert s is not None, err[-3000:]
    assert s["documents"] == n and s["rejected"] == 0, err[-1500:]
    assert s["indexed"] + s["already_present"] == n, err[-1500:]
    assert s["retried"] > 0, err[-1500:]
    assert RETRY_MESSAGE.search(err), f"no word of waiting or retrying on stderr:\n{err[-3000:]}"
    assert node.count(prefix) == n, "documents lost or doubled across the restart"
    assert not (tmp_path / "rejected.ndjson").exists()


# ----------------------------------------------------------------------------- 6

def test_429_answers_are_retried(busy_node, http_pcap, index_run, tmp_path):
    prefix = "t-busy"
    res = index_run(busy_node, prefix, f"--file={http_pcap}", "--in-flight=4", "--chunk=50",
                    f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, timeout=180)
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["documents"], s["rejected"]) == (1268, 0), res.summary_line
    assert s["indexed"] + s["already_present"] == 1268, res.summary_line
    # (observed: retried in the hundreds; the node answers 429 items in _bulk)
    assert s["retried"] > 0, f"the node never made espcap retry: {res.summary_line}"
    assert RETRY_MESSAGE.search(res.stderr), res.describe()
    # the warning names the node's own reason, and the index (or the status of a whole
    # request refused)
    assert re.search(r"\d+ documents wait for http://127\.0\.0\.1:\d+: "
                     r"((es_)?rejected_execution_exception on t-busy-\d{4}-\d\d-\d\d|"
                     r"HTTP 429 \((es_)?rejected_execution_exception)", res.stderr), res.describe()
    assert busy_node.count(prefix) == 1268
    assert not (tmp_path / "rejected.ndjson").exists()


# ----------------------------------------------------------------------------- 8

def test_unreachable_node_at_start(run_espcap, dns_pcap, tmp_path):
    t0 = time.monotonic()
    res = run_espcap(f"--file={dns_pcap}", "--node=127.0.0.1:1", "--node-wait=2",
                     cwd=tmp_path, timeout=30)
    took = time.monotonic() - t0
    assert res.rc == 3, res.describe()
    assert took < 10, f"took {took:.1f}s with --node-wait=2"
    assert took >= 1.5, f"gave up after {took:.1f}s, before --node-wait=2 ran out"
    last = res.stderr_lines[-1] if res.stderr_lines else ""
    assert "127.0.0.1:1" in last, f"the final message does not name the node:\n{res.stderr}"
    assert not (tmp_path / "espcap-rejected.ndjson").exists()


def test_bad_node_url(run_espcap, dns_pcap, tmp_path):
    res = run_espcap(f"--file={dns_pcap}", "--node=ftp://x", cwd=tmp_path, timeout=30)
    # (observed: exit 3, "espcap: --node: 'ftp://x' is not http:// or https://")
    assert res.rc in (2, 3), res.describe()
    assert "ftp://x" in res.stderr, res.describe()
    assert res.elapsed < 5, "a malformed --node should not be retried"


# ----------------------------------------------------------------------------- 10

@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_delivers_what_was_built(es_node, bench_pcap, espcap_bin, prefix, tmp_path,
                                        sig, status):
    pcap, n = bench_pcap
    es_node.clean(prefix)
    proc = _spawn(espcap_bin, [f"--file={pcap}", f"--node={es_node.hostport}",
                               f"--index-prefix={prefix}", "--chunk=500",
                               f"--rejected={tmp_path}/rejected.ndjson"], tmp_path)
    try:
        seen = wait_for_count(es_node, prefix, 1000, proc=proc, timeout=60, interval=0.3)
        assert proc.poll() is None, \
            f"espcap ended (exit {proc.returncode}) before the signal:\n{_stderr(tmp_path)}"
        assert seen >= 1000
        t0 = time.monotonic()
        os.kill(proc.pid, sig)
        rc = _finish(proc, 60)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = _stderr(tmp_path)
    assert rc == status, f"exit status {rc} after {sig.name}, want {status}\n{err[-2000:]}"
    assert took < 10, f"took {took:.1f}s to stop after {sig.name}"
    s = summary_from_text(err)
    assert s is not None, f"no summary after {sig.name}:\n{err[-2000:]}"
    assert s["documents"] < n, f"the run was not cut short: {s}"
    assert s["packets"] >= s["documents"]
    assert s["documents"] == s["indexed"] + s["already_present"] + s["rejected"], s
    assert s["rejected"] == 0, s
    assert es_node.count(prefix) == s["indexed"] + s["already_present"], \
        f"the index does not hold what the summary says was delivered: {s}"
