# SPDX-License-Identifier: GPL-2.0-or-later
"""Faults injected between espcap and the node by a small proxy (es_support.
RecordingProxy): 5xx answers and reset connections are retried, refused
credentials stop espcap at once, a node that comes up within --node-wait is
used, a dead node in a --node list is passed over."""

import socket
import subprocess
import threading
import time

from es_support import RecordingProxy, summary_ints

DNS_PACKETS = 108


def _is_bulk(path):
    return path.split("?")[0].endswith("/_bulk")


def test_5xx_and_reset_connections_are_retried(es_node, dns_pcap, run_espcap, prefix,
                                                tmp_path):
    plan = {1: 503, 2: 503, 3: "reset", 5: 502}   # by the number of the _bulk request
    seen = {"bulk": 0}
    lock = threading.Lock()

    def fault(method, path):
        if not _is_bulk(path):
            return None
        with lock:
            seen["bulk"] += 1
            return plan.get(seen["bulk"])

    es_node.clean(prefix)
    with RecordingProxy(es_node, fault=fault) as proxy:
        res = run_espcap(f"--node={proxy.hostport}", f"--index-prefix={prefix}",
                         f"--file={dns_pcap}", "--chunk=20",
                         f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, timeout=120)
    assert len(proxy.faults) == len(plan), f"faults injected: {proxy.faults}"
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["documents"], s["rejected"]) == (DNS_PACKETS, 0), res.summary_line
    assert s["indexed"] + s["already_present"] == DNS_PACKETS, res.summary_line
    assert s["retried"] >= 20, f"the failed requests were not counted: {res.summary_line}"
    assert "retry" in res.stderr.lower() or "wait" in res.stderr.lower(), res.describe()
    assert es_node.count(prefix) == DNS_PACKETS
    assert not (tmp_path / "rejected.ndjson").exists()


def test_refused_credentials_stop_at_once(es_node, dns_pcap, run_espcap, tmp_path):
    with RecordingProxy(es_node, fault=lambda m, p: 401) as proxy:
        t0 = time.monotonic()
        res = run_espcap(f"--node={proxy.hostport}", "--index-prefix=t-401",
                         f"--file={dns_pcap}", "--user=u:wrong-pw", cwd=tmp_path, timeout=60)
        took = time.monotonic() - t0
    assert res.rc == 3, res.describe()
    assert took < 5, f"took {took:.1f}s: a 401 is not worth waiting --node-wait for"
    assert "401" in res.stderr, res.describe()
    assert "wrong-pw" not in res.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_node_that_comes_up_within_node_wait(es_node, dns_pcap, espcap_bin, prefix, tmp_path):
    port = _free_port()
    es_node.clean(prefix)
    proc = subprocess.Popen([str(espcap_bin), f"--file={dns_pcap}", f"--node=127.0.0.1:{port}",
                             f"--index-prefix={prefix}", "--node-wait=30",
                             f"--rejected={tmp_path}/rejected.ndjson"], cwd=str(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        time.sleep(2.5)
        assert proc.poll() is None, f"espcap did not wait for the node: {proc.stderr.read()}"
        with RecordingProxy(es_node, port=port):
            _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert f"127.0.0.1:{port}" in err, f"the waiting is not reported:\n{err}"
    assert es_node.count(prefix) == DNS_PACKETS


def test_dead_node_in_list_is_passed_over(es_node, dns_pcap, run_espcap, prefix, tmp_path):
    es_node.clean(prefix)
    res = run_espcap(f"--file={dns_pcap}", f"--node=127.0.0.1:1,{es_node.hostport}",
                     f"--index-prefix={prefix}", f"--rejected={tmp_path}/rejected.ndjson",
                     cwd=tmp_path, timeout=120)
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["indexed"], s["rejected"]) == (DNS_PACKETS, 0), res.summary_line
    assert es_node.count(prefix) == DNS_PACKETS


def test_signal_while_node_refuses_keeps_built_documents(es_node, dns_pcap, espcap_bin,
                                                         prefix, tmp_path):
    """SIGINT stops the reading but what was built is still to be delivered: with a
    node answering 503 espcap keeps waiting (it does not exit 130 as if all was
    delivered); a second SIGINT ends it at once."""
    import signal

    es_node.clean(prefix)
    refuse = lambda m, p: 503 if _is_bulk(p) else None  # noqa: E731
    with RecordingProxy(es_node, fault=refuse) as proxy:
        proc = subprocess.Popen([str(espcap_bin), f"--file={dns_pcap}",
                                 f"--node={proxy.hostport}", f"--index-prefix={prefix}",
                                 f"--rejected={tmp_path}/rejected.ndjson"], cwd=str(tmp_path),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not [f for f in proxy.faults] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert proxy.faults, "espcap sent no _bulk request"
            proc.send_signal(signal.SIGINT)
            time.sleep(2.5)
            assert proc.poll() is None, \
                (f"espcap exited ({proc.returncode}) after one SIGINT although nothing "
                 f"was delivered:\n{proc.stderr.read().decode('utf-8', 'replace')}")
            proc.send_signal(signal.SIGINT)
            t0 = time.monotonic()
            _, err = proc.communicate(timeout=10)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert took < 3, f"took {took:.1f}s to end after the second SIGINT"
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err)
    assert es_node.count(prefix) == 0
