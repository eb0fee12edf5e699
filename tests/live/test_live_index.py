# SPDX-License-Identifier: GPL-2.0-or-later
"""Live capture indexed into a real search node (--nic with --node), and the spool.

espcap runs in namespace a and reaches the node (on the host's loopback) through
livenet.Relay, which listens on 127.0.0.1 inside namespace a.  "The node is
down" is either the node really stopped (test_spool_across_node_restart, with a
node of its own on a fixed port and data folder) or the relay taken down
(connections refused, as by a dead node).

Spool accounting used below: every document ends indexed, already present,
rejected, dropped, or in the spool; a spooled request that is replayed and fails
again is spooled again, so the documents left in the spool are spooled - replayed.
"""

import re
import shutil
import os
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

import livenet as L

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)

from livenet import is_nudge, stop_live  # noqa: E402

PORT = 5555
BPF = f"--bpf=udp dst port {PORT}"


@pytest.fixture
def prefix(request, live_node, live_token):
    """A fresh index prefix for this test (its indices are deleted afterwards)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    p = f"espcap-live-{live_token}-{name}".lower()
    live_node.clean(p)
    yield p
    live_node.clean(p)


def index_args(hostport, prefix, tmp_path, spool):
    return [f"--node={hostport}", f"--index-prefix={prefix}", f"--spool-dir={spool}",
            f"--rejected={tmp_path / 'rejected.ndjson'}"]


def nums(summary, *keys):
    out = []
    for k in keys:
        assert summary is not None and k in summary, f"summary has no {k}=: {summary}"
        out.append(int(summary[k]))
    return out


def spool_files(spool):
    return sorted(spool.glob("*.bulk")) if spool.exists() else []


def docs_in_spool(spool):
    """Documents held by the spool files (one `create` action line each)."""
    n = 0
    for f in spool_files(spool):
        body = f.read_bytes()
        at = body.find(b"B\n") if body.startswith(b"B\n") else body.find(b"\nB\n") + 1
        assert at >= 0, f"{f} has no 'B' line"
        n += sum(1 for line in body[at + 2:].split(b"\n") if line.startswith(b'{"create":'))
    return n


def check_accounting(summary):
    docs, ind, already, rej, drop, spooled, replayed = nums(
        summary, "documents", "indexed", "already_present", "rejected", "dropped", "spooled",
        "replayed")
    assert docs == ind + already + rej + drop + spooled - replayed, (
        f"documents={docs} is not indexed+already_present+rejected+dropped+spooled-replayed "
        f"({ind}+{already}+{rej}+{drop}+{spooled}-{replayed}): {summary}")
    return spooled - replayed


def payloads_of_hits(hits):
    return [L.doc_payload(h["_source"]) for h in hits]


def check_exactly_once(hits, sent, extra_ok=is_nudge):
    pays = payloads_of_hits(hits)
    markers = [p for p in pays if p in set(sent)]
    dup = [p for p, c in Counter(markers).items() if c > 1]
    assert not dup, f"{len(dup)} markers are indexed more than once, e.g. {dup[:3]}"
    missing = set(sent) - set(markers)
    assert not missing, (f"{len(missing)} of {len(sent)} markers are not in the index, "
                         f"e.g. {sorted(missing)[:3]}")
    other = [p for p in pays if p not in set(sent) and not extra_ok(p)]
    assert not other, f"{len(other)} unexpected documents in the index, e.g. {other[:3]}"


# --------------------------------------------------------------------------- indexing

def test_node_unreachable_at_start(lab, start_live, relay, prefix, tmp_path):
    """Live mode too needs the node at start-up: after --node-wait, exit 3, naming it."""
    relay.down()
    try:
        t0 = time.monotonic()
        res = start_live(f"--nic={lab.IF_A}", BPF, "--node-wait=2",
                         *index_args(relay.hostport, prefix, tmp_path, tmp_path / "spool")
                         ).finish(timeout=60)
        took = time.monotonic() - t0
    finally:
        relay.up()
    assert res.rc == 3, res.describe()
    assert relay.hostport in res.stderr, res.describe()
    assert took < 30, f"took {took:.0f} s with --node-wait=2"
    assert "capturing on" not in res.stderr


def test_live_documents_are_indexed(lab, start_live, sender, sink, relay, live_node, prefix,
                                    tag, tmp_path):
    m = 300
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, f"--count={m}",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    for i in range(m + 30):
        s.send(L.marker(tag, i))
        time.sleep(0.001)
    res = run.finish(timeout=90)
    assert res.rc == 0, res.describe()
    summ = L.summary_stats(res.stderr)
    docs, indexed, dropped, rejected = nums(summ, "documents", "indexed", "dropped", "rejected")
    assert (docs, indexed, dropped, rejected) == (m, m, 0, 0), summ
    hits = live_node.all_docs(prefix)
    assert len(hits) == m, f"{len(hits)} documents in {prefix}-*, {m} captured"
    check_exactly_once(hits, s.sent[:m])
    for h in hits:
        src = h["_source"]
        assert src.get("capture") == "pcap_live", src.get("capture")
        assert src.get("interface") == lab.IF_A, src.get("interface")
        day = datetime.fromtimestamp(src["sniff_timestamp"], timezone.utc).strftime("%Y-%m-%d")
        assert h["_index"] == f"{prefix}-{day}", h["_index"]
    assert sorted(h["_source"]["frame_number"] for h in hits) == list(range(1, m + 1))
    assert not spool_files(spool)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the capture gives it up")
def test_spool_folder_is_handed_to_the_capture_user(lab, start_live, sender, sink, relay,
                                                    live_node, prefix, tag, tmp_path):
    """Started as root, the capture becomes nobody once the interface is open: its spool
    folder (inside a folder only root may enter) is then nobody's, mode 0700, and the
    capture still indexes everything; a spool folder that is a symbolic link is refused
    before the first packet (exit status 3, a message naming it)."""
    import pwd
    nobody = pwd.getpwnam("nobody").pw_uid
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    spool = private / "spool"
    m = 50
    sink(PORT)
    run = start_live(f"--nic={lab.IF_A}", BPF, f"--count={m}",
                     *index_args(relay.hostport, prefix, private, spool))
    run.wait_for("capturing as nobody", timeout=120)
    s = sender(PORT)
    for i in range(m + 10):
        s.send(L.marker(tag, i))
        time.sleep(0.001)
    res = run.finish(timeout=90)
    assert res.rc == 0, res.describe()
    st = spool.stat()
    assert st.st_uid == nobody and (st.st_mode & 0o777) == 0o700, (st.st_uid, oct(st.st_mode))
    assert nums(L.summary_stats(res.stderr), "indexed") == [m]
    assert (private / "rejected.ndjson").exists()  # opened before root was given up

    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "spool-link"
    link.symlink_to(target)
    run = start_live(f"--nic={lab.IF_A}", BPF, "--count=1",
                     *index_args(relay.hostport, prefix, tmp_path, link), name="symlink")
    res = run.finish(timeout=90)
    assert res.rc == 3, res.describe()
    assert f"spool {link}" in res.stderr and "symbolic link" in res.stderr, res.stderr


def test_idle_capture_still_sends_within_flush_interval(lab, start_live, sender, sink, relay,
                                                         live_node, prefix, tag, tmp_path):
    """A few packets, then silence: they reach the node within --flush-interval (1 s)
    plus a margin, while espcap keeps capturing."""
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, "--flush-interval=1",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    for i in range(20):
        s.send(L.marker(tag, i))
    t_last = time.monotonic()
    seen = L.wait_until(lambda: live_node.count(prefix) >= 20, timeout=8, step=0.5)
    waited = time.monotonic() - t_last
    seen_n = live_node.count(prefix)
    still_running = run.proc.poll() is None
    res, nudges = stop_live(run, s, tag)
    final = live_node.count(prefix)
    assert res.rc == 0, res.describe()
    assert still_running
    assert seen, (f"{seen_n} of 20 documents were in the index {waited:.0f} s after the last "
                  f"packet while the capture idled (--flush-interval=1); after the stop "
                  f"(and {nudges} more packet(s) to end it) there were {final}")


# --------------------------------------------------------------------------- the spool

def test_spool_across_node_restart(lab, start_live, sender, sink, tag, tmp_path, live_token):
    """Markers flow steadily; the node stops, espcap spools; the node comes back (same
    port, same data); the spool is replayed; every marker is indexed exactly once."""
    sink(PORT)
    port = L.free_port()
    data = tmp_path / "node-data"
    pidfile = tmp_path / "spool-node.pid"
    try:
        node = L.Node.start(pidfile, "--http-port", port, "--data", data)
    except RuntimeError as e:
        pytest.fail(f"could not start the dedicated node: {e}", pytrace=False)
    relay = L.Relay(lab.ns_a, ("127.0.0.1", port))
    prefix = f"espcap-live-{live_token}-restart"
    spool = tmp_path / "spool"
    paced = None
    try:
        run = start_live(f"--nic={lab.IF_A}", BPF,
                         *index_args(relay.hostport, prefix, tmp_path, spool))
        run.wait_ready(timeout=120)
        paced = L.PacedSender(lab.ns_b, lab.addr_a, PORT, tag, rate=150, max_count=9000,
                              max_seconds=150)
        paced.start()
        assert L.wait_until(lambda: node.count(prefix) > 0, timeout=30, step=0.5), \
            "nothing reached the node within 30 s"

        node.stop()
        t_down = time.monotonic()
        assert not node.reachable()
        files = L.wait_until(lambda: spool_files(spool), timeout=15, step=0.2)
        assert files, f"no spool file in {spool} 15 s after the node stopped"
        time.sleep(max(0.0, 6 - (time.monotonic() - t_down)))
        assert run.proc.poll() is None, run.stderr()[-2000:]

        node.restart()
        t_up = time.monotonic()
        count_at_restart = node.count(prefix)
        # espcap retries with a backoff of at most 30 s: it must reach the node again
        back = L.wait_until(lambda: node.count(prefix) > count_at_restart, timeout=50, step=0.5)
        back_after = time.monotonic() - t_up
        assert back, "espcap sent nothing to the node within 50 s of its restart"
        time.sleep(2)
        sent = paced.stop()
        assert paced.error is None, paced.error
        spool_at_stop = len(spool_files(spool))
        time.sleep(2)
        res, nudges = stop_live(run, sender(PORT), tag, timeout=120)
        assert res.rc == 0, res.describe()
        summ = L.summary_stats(res.stderr)
        left = check_accounting(summ)
        spooled, replayed, dropped, rejected = nums(summ, "spooled", "replayed", "dropped",
                                                    "rejected")
        assert spooled > 0 and replayed > 0, summ
        assert (dropped, rejected, left) == (0, 0, 0), summ
        assert "spool" in res.stderr
        assert not spool_files(spool), "spool files left after the end"

        hits = node.all_docs(prefix)
        check_exactly_once(hits, sent)
        markers = [p for p in payloads_of_hits(hits) if not is_nudge(p)]
        assert len(markers) == len(sent), (len(markers), len(sent))
        print(f"spool test: {len(sent)} sent; espcap reached the restarted node after "
              f"{back_after:.1f} s; {spool_at_stop} spool files when the traffic stopped; "
              f"summary {summ}")
    finally:
        if paced is not None and paced.is_alive():
            paced.stop()
        relay.down()
        node.stop()
        shutil.rmtree(data, ignore_errors=True)


def test_spool_drains_while_traffic_continues(lab, start_live, sink, relay, live_node, prefix,
                                              tag, tmp_path):
    """After a short outage, with modest steady traffic (150/s), the spool empties again
    soon after the node is reachable (its backoff is at most 30 s; here the outage lasts
    5 s, so the first retry comes within about 8 s)."""
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF,
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    paced = L.PacedSender(lab.ns_b, lab.addr_a, PORT, tag, rate=150, max_count=9000,
                          max_seconds=120)
    paced.start()
    try:
        assert L.wait_until(lambda: live_node.count(prefix) > 0, timeout=30, step=0.5)
        relay.down()
        try:
            assert L.wait_until(lambda: spool_files(spool), timeout=10), "nothing spooled"
            time.sleep(4)
        finally:
            relay.up()
        t_up = time.monotonic()
        history = []

        def drained():
            history.append(len(spool_files(spool)))
            return history[-1] == 0
        emptied = L.wait_until(drained, timeout=20, step=1.0)
        waited = time.monotonic() - t_up
        count_then = live_node.count(prefix)
        sent_then = len(paced.sent)
    finally:
        sent = paced.stop()
    res, nudges = stop_live(run, L.UdpSender(lab.ns_b, lab.addr_a, PORT), tag, timeout=120)
    assert res.rc == 0, res.describe()
    assert emptied, (f"the spool did not empty within {waited:.0f} s of the node being "
                     f"reachable again while traffic went on at 150/s (spool files, one "
                     f"reading a second: {history}); {count_then} of {sent_then} documents "
                     f"were indexed then")
    hits = live_node.all_docs(prefix)
    check_exactly_once(hits, sent)


def test_spool_left_for_the_next_run(lab, start_live, sender, sink, relay, live_node, prefix,
                                     tag, tmp_path):
    """Node unreachable: the spool keeps the documents at the end of the run; the next
    run with the same --spool-dir delivers them."""
    sink(PORT)
    spool = tmp_path / "spool"
    run1 = start_live(f"--nic={lab.IF_A}", BPF,
                      *index_args(relay.hostport, prefix, tmp_path, spool), name="first")
    run1.wait_ready(timeout=120)
    s = sender(PORT)
    relay.down()
    try:
        for i in range(150):
            s.send(L.marker(tag, i))
            time.sleep(0.002)
        time.sleep(1.5)
        res1, nudges = stop_live(run1, s, tag)
    finally:
        relay.up()
    assert res1.rc == 0, res1.describe()
    summ1 = L.summary_stats(res1.stderr)
    left = check_accounting(summ1)
    docs1, indexed1, dropped1 = nums(summ1, "documents", "indexed", "dropped")
    assert indexed1 == 0 and dropped1 == 0, summ1
    assert left == docs1 >= 150, summ1
    m = re.search(r"spool \S+ keeps (\d+) requests", res1.stderr)
    assert m, f"stderr does not say what the spool keeps:\n{res1.stderr[-2000:]}"
    files = spool_files(spool)
    assert int(m.group(1)) == len(files) > 0, (m.group(0), files)
    assert docs_in_spool(spool) == docs1
    assert live_node.count(prefix) == 0

    run2 = start_live(f"--nic={lab.IF_A}", BPF, "--count=1",
                      *index_args(relay.hostport, prefix, tmp_path, spool), name="second")
    run2.wait_ready(timeout=120)
    last = L.marker(tag, 999)
    s.send(last)
    res2 = run2.finish(timeout=120)
    assert res2.rc == 0, res2.describe()
    assert "left by an earlier run" in res2.stderr, res2.describe()
    summ2 = L.summary_stats(res2.stderr)
    check_accounting(summ2)
    replayed2, indexed2 = nums(summ2, "replayed", "indexed")
    assert replayed2 >= docs1 and indexed2 + int(summ2["already_present"]) == docs1 + 1, summ2
    assert not spool_files(spool)
    hits = live_node.all_docs(prefix)
    check_exactly_once(hits, s.sent)
    assert len(hits) == docs1 + 1, (len(hits), docs1)


def test_full_spool_drops_and_counts(lab, start_live, sender, sink, relay, live_node, prefix,
                                     tag, tmp_path):
    """Node unreachable, --spool-size=20000: documents beyond it are dropped and counted,
    stderr says the spool is full, exit status 1."""
    sink(PORT)
    spool = tmp_path / "spool"
    size = 20000
    run = start_live(f"--nic={lab.IF_A}", BPF, f"--spool-size={size}", "--chunk=5",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    relay.down()
    try:
        for i in range(400):
            s.send(L.marker(tag, i))
            time.sleep(0.002)
        time.sleep(1.5)
        res, nudges = stop_live(run, s, tag)
    finally:
        relay.up()
    assert res.rc == 1, res.describe()
    assert "is full" in res.stderr, res.describe()
    summ = L.summary_stats(res.stderr)
    left = check_accounting(summ)
    dropped, indexed = nums(summ, "dropped", "indexed")
    assert dropped > 0 and indexed == 0, summ
    total = sum(f.stat().st_size for f in spool_files(spool))
    assert total <= size, f"the spool holds {total} bytes, more than --spool-size={size}"
    assert docs_in_spool(spool) == left, (docs_in_spool(spool), summ)
    assert live_node.count(prefix) == 0
