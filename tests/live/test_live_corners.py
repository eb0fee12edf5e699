# SPDX-License-Identifier: GPL-2.0-or-later
"""Live capture's corners against a real node (issue 10, items 4 and 5):

- spool files that became unreadable (chmod 000) or vanished (unlinked) while waiting are
  reported and passed over, their documents counted as dropped; the rest is delivered;
- requests dropped by a full spool do not take their mappings with them: documents of
  the same day that come later are mapped by espcap, never by dynamic mapping;
- a node that stops answering (SIGSTOP of its process) never stalls the capture, not even
  for the mappings of a new index: statistics lines keep coming every second, the kernel
  drops nothing, and once the node runs again (SIGCONT) every packet is indexed once.

espcap runs in namespace a and reaches the module's node through livenet.Relay.
"""

import json
import os
import re
import signal
import stat
import time

import pytest

import livenet as L

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)

from helpers.ci import missing  # noqa: E402
from livenet import stop_live  # noqa: E402
from test_live_index import (check_accounting, check_exactly_once, index_args,  # noqa: E402
                             nums, spool_files)

PORT = 5555
BPF = f"--bpf=udp dst port {PORT}"
NAME = re.compile(r"^(\d{12})-(\d+)\.bulk$")


@pytest.fixture
def prefix(request, live_node, live_token):
    """A fresh index prefix for this test (its indices are deleted afterwards)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    p = f"espcap-corner-{live_token}-{name}".lower()
    live_node.clean(p)
    yield p
    live_node.clean(p)


def spool_markers(path):
    """The marker payloads of the documents a spool file holds."""
    body = path.read_bytes()
    at = 0 if body.startswith(b"B\n") else body.index(b"\nB\n") + 1
    out = []
    lines = body[at + 2:].split(b"\n")
    for action, doc in zip(lines[0::2], lines[1::2]):
        assert action.startswith(b'{"create":'), action[:80]
        out.append(L.doc_payload(json.loads(doc)))
    return out


def field_type(node, prefix, path):
    """The mapping type of PATH in the daily indices of PREFIX (one type, or a set)."""
    _, maps = node.request("GET", f"/{prefix}-*/_mapping")
    types = set()
    for m in maps.values():
        props = m["mappings"].get("properties", {})
        for part in path.split(".")[:-1]:
            props = props.get(part, {}).get("properties", {})
        leaf = props.get(path.split(".")[-1])
        types.add(leaf.get("type") if leaf else None)
    return types.pop() if len(types) == 1 else types


# --------------------------------------------------------------------------- the spool

def test_unreadable_and_vanished_spool_files_are_passed_over(lab, start_live, sender, sink,
                                                              relay, live_node, prefix, tag,
                                                              tmp_path):
    """Node away: requests pile up in the spool. One spool file is made unreadable, one
    removed. Node back: both are reported by name, their documents counted as dropped
    (exit status 1), everything else indexed exactly once; the unreadable file is kept
    aside as .unreadable. The spool's files are 0600, its folder 0700."""
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, "--chunk=20",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    relay.down()
    try:
        for i in range(200):
            s.send(L.marker(tag, i))
            time.sleep(0.003)
        files = L.wait_until(lambda: len(spool_files(spool)) >= 8 and spool_files(spool),
                             timeout=20)
        assert files, f"fewer than 8 spool files: {spool_files(spool)}\n{run.stderr()[-2000:]}"
        time.sleep(1.5)
        files = spool_files(spool)
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f"{f} is not 0600"
        unreadable, vanished = files[2], files[4]
        lost = []
        for f in (unreadable, vanished):
            m = NAME.match(f.name)
            assert m, f"spool file name {f.name} does not say how many documents it holds"
            markers = spool_markers(f)
            assert len(markers) == int(m.group(2)), (f.name, len(markers))
            lost += markers
        unreadable.chmod(0)
        vanished.unlink()
    finally:
        relay.up()
    drained = L.wait_until(lambda: not spool_files(spool), timeout=60, step=0.5)
    res, nudges = stop_live(run, s, tag)
    assert drained, f"the spool did not empty: {spool_files(spool)}\n{res.stderr[-3000:]}"
    assert res.rc == 1, f"documents were dropped: exit status 1 expected\n{res.describe()}"
    assert f"cannot read {unreadable}" in res.stderr, res.stderr[-3000:]
    assert f"{vanished} vanished" in res.stderr, res.stderr[-3000:]
    assert (spool / (unreadable.stem + ".unreadable")).exists()
    summ = L.summary_stats(res.stderr)
    check_accounting(summ)
    dropped, rejected = nums(summ, "dropped", "rejected")
    assert (dropped, rejected) == (len(lost), 0), (summ, len(lost))
    hits = live_node.all_docs(prefix)
    delivered = [m for m in s.sent if m not in set(lost)]
    check_exactly_once(hits, delivered)


def test_full_spool_keeps_mappings_for_later_documents(lab, start_live, sender, sink, relay,
                                                       live_node, prefix, tag, tmp_path):
    """Node away and a spool that holds nothing: the first documents of a new day (and
    the mappings their request needed) cannot be kept, and are dropped. The mappings are
    not lost with them: once the node is back they are put, so later documents of that
    day are mapped by espcap (addresses as ip, ports as long), not by dynamic mapping."""
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, "--spool-size=1",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    s = sender(PORT)
    relay.down()
    try:
        for i in range(50):
            s.send(L.marker(tag, i))
            time.sleep(0.002)
        assert L.wait_until(lambda: "is full" in run.stderr(), timeout=20), \
            run.stderr()[-2000:]
        time.sleep(1)
    finally:
        relay.up()
    mapped = L.wait_until(lambda: field_type(live_node, prefix, "layers.network.ip.src")
                          == "ip", timeout=60, step=0.5)
    assert mapped, (f"the mappings of the dropped request were never put: "
                    f"{field_type(live_node, prefix, 'layers.network.ip.src')}\n"
                    f"{run.stderr()[-2000:]}")
    later = [L.marker(tag, 1000 + i) for i in range(50)]
    for m in later:
        s.send(m)
        time.sleep(0.002)
    assert L.wait_until(lambda: live_node.count(prefix) >= len(later), timeout=30), \
        run.stderr()[-2000:]
    res, nudges = stop_live(run, s, tag)
    assert res.rc == 1, res.describe()   # documents were dropped
    summ = L.summary_stats(res.stderr)
    check_accounting(summ)
    dropped, indexed = nums(summ, "dropped", "indexed")
    assert dropped >= 50 and indexed >= len(later), summ
    check_exactly_once(live_node.all_docs(prefix), later)
    for path, want in [("layers.network.ip.src", "ip"), ("layers.network.ip.dst", "ip"),
                       ("layers.transport.udp.srcport", "long"),
                       ("layers.transport.udp.dstport", "long")]:
        got = field_type(live_node, prefix, path)
        assert got == want, f"{path} is mapped {got}, not {want} (dynamic mapping?)"


# --------------------------------------------------------------------------- a frozen node

def node_pid(node):
    if not node.owned or not node.pidfile:
        missing("needs a node of the test's own to freeze (ESPCAP_TEST_NODE is set)")
    return int(open(node.pidfile).read().split()[0])


def test_frozen_node_never_stalls_the_capture(lab, start_live, sink, relay, live_node, prefix,
                                              tag, tmp_path):
    """The node's process is stopped (SIGSTOP) before the first packet of a new index:
    its creation, its mappings and the documents all wait for it, but the capture goes
    on: a statistics line every second, no kernel drops. After SIGCONT every packet is
    indexed exactly once, mapped by espcap."""
    pid = node_pid(live_node)
    sink(PORT)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, "--stats-interval=1",
                     *index_args(relay.hostport, prefix, tmp_path, spool))
    run.wait_ready(timeout=120)
    seen = {}   # stats line -> when it was first seen

    def watch():
        for line in run.stderr().splitlines():
            if line.startswith("espcap: stats: ") and line not in seen:
                seen[line] = time.monotonic()

    paced = L.PacedSender(lab.ns_b, lab.addr_a, PORT, tag, rate=300, max_count=20000,
                          max_seconds=60)
    os.kill(pid, signal.SIGSTOP)
    try:
        t_stop = time.monotonic()
        paced.start()
        while time.monotonic() - t_stop < 8:
            watch()
            time.sleep(0.2)
        watch()
        sent_frozen = len(paced.sent)
        frozen_lines = sorted((t, l) for l, t in seen.items() if t > t_stop + 1)
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(2)
    sent = paced.stop()
    all_in = L.wait_until(lambda: live_node.count(prefix) >= len(sent), timeout=90, step=1)
    res, nudges = stop_live(run, L.UdpSender(lab.ns_b, lab.addr_a, PORT), tag, timeout=120)
    assert res.rc == 0, res.describe()
    # the capture went on while the node was frozen
    times = [t for t, _ in frozen_lines]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 4 and max(gaps, default=99) < 3.0, \
        (f"statistics lines stopped while the node was frozen (gaps {gaps}): the capture "
         f"waited\n{res.stderr[-3000:]}")
    last = frozen_lines[-1][1]
    captured = int(re.search(r"packets=(\d+)", last).group(1))
    assert captured >= 0.7 * (sent_frozen - 300), (captured, sent_frozen, last)
    cap = L.capture_stats(res.stderr)
    assert cap and int(cap["dropped_kernel"]) == 0, cap
    assert all_in, f"{live_node.count(prefix)} of {len(sent)} indexed\n{res.stderr[-3000:]}"
    summ = L.summary_stats(res.stderr)
    check_accounting(summ)
    dropped, rejected = nums(summ, "dropped", "rejected")
    assert (dropped, rejected) == (0, 0), summ
    check_exactly_once(live_node.all_docs(prefix), sent)
    assert field_type(live_node, prefix, "layers.network.ip.src") == "ip"
