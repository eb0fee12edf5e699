# SPDX-License-Identifier: GPL-2.0-or-later
"""Live statistics lines (--stats-interval): their numbers against the traffic sent and
against the end-of-run summary, with and without a node (the bulk queue and the spool)."""

import re
import time

import pytest

import livenet as L

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)  # a failure under CI=true (tests/conftest.py)

from livenet import stop_live  # noqa: E402

PORT = 5555
BPF = f"--bpf=udp dst port {PORT}"
STATS = re.compile(r"^espcap: stats: packets=(\d+) dropped_kernel=(\d+) dropped_interface=(\d+) "
                   r"documents=(\d+) rate=(\d+)/s pending=(\d+) spool_bytes=(\d+) "
                   r"rejected=(\d+)$")
KEYS = ("packets", "dropped_kernel", "dropped_interface", "documents", "rate", "pending",
        "spool_bytes", "rejected")


def stats_lines(stderr):
    out = []
    for line in stderr.splitlines():
        if line.startswith("espcap: stats:"):
            m = STATS.match(line)
            assert m, f"a stats line not in the documented form: {line!r}"
            out.append(dict(zip(KEYS, map(int, m.groups()))))
    return out


def test_stats_lines_match_the_summary(lab, start_live, sender, sink, tag):
    sink(PORT)
    run = start_live(f"--nic={lab.IF_A}", BPF, "--stats-interval=1")
    run.wait_ready()
    s = sender(PORT)
    bursts, per = 3, 40
    for b in range(bursts):
        for i in range(per):
            s.send(L.marker(tag, b * per + i))
        time.sleep(1.6)
    time.sleep(2.5)  # at least two more lines after the last packet
    res, nudges = stop_live(run)
    assert res.rc == 0, res.describe()
    lines = stats_lines(res.stderr)
    assert len(lines) >= 5, f"{len(lines)} stats lines in about 7 s at --stats-interval=1\n" \
        + res.describe()
    cap, summ = L.capture_stats(res.stderr), L.summary_stats(res.stderr)
    n = bursts * per
    # counters only grow; the last lines, after all the traffic, equal the summary's
    for k in ("packets", "documents", "dropped_kernel", "dropped_interface", "rejected"):
        seq = [l[k] for l in lines]
        assert seq == sorted(seq), f"{k} went down: {seq}"
    last = lines[-1]
    assert last["packets"] == int(summ["packets"]) == int(cap["captured"]) == n, \
        (last, summ, cap)
    assert last["documents"] == int(summ["documents"]) == n
    assert last["dropped_kernel"] == int(cap["dropped_kernel"])
    assert last["dropped_interface"] == int(cap["dropped_interface"])
    assert (last["pending"], last["spool_bytes"], last["rejected"]) == (0, 0, 0)
    # the traffic came in bursts: some lines saw packets arrive, others none
    assert any(0 < l["packets"] < n for l in lines), lines
    assert lines[-1]["rate"] == 0 and lines[-2]["rate"] == 0, lines
    # documents/s over each interval of about 1 s add up to the documents
    total = sum(l["rate"] for l in lines)
    assert n / 1.3 - len(lines) <= total <= n + len(lines), (total, lines)


def test_stats_interval_zero_prints_none(lab, start_live, sink):
    sink(PORT)
    run = start_live(f"--nic={lab.IF_A}", BPF, "--stats-interval=0")
    run.wait_ready()
    time.sleep(1.5)
    res, _ = stop_live(run)
    assert res.rc == 0 and not stats_lines(res.stderr), res.describe()


def test_stats_lines_show_the_queue_and_the_spool(lab, start_live, sink, relay, live_node,
                                                  tag, tmp_path, live_token):
    """With a node: the relay goes down, so documents go to the spool; the stats lines show
    it (spool_bytes > 0), then the spool drains once the node is back."""
    sink(PORT)
    prefix = f"espcap-live-{live_token}-stats"
    live_node.clean(prefix)
    spool = tmp_path / "spool"
    run = start_live(f"--nic={lab.IF_A}", BPF, "--stats-interval=0.5",
                     f"--node={relay.hostport}", f"--index-prefix={prefix}",
                     f"--spool-dir={spool}", f"--rejected={tmp_path}/rejected.ndjson")
    run.wait_ready(timeout=120)
    paced = L.PacedSender(lab.ns_b, lab.addr_a, PORT, tag, rate=100, max_count=5000,
                          max_seconds=60)
    paced.start()
    try:
        assert L.wait_until(lambda: live_node.count(prefix) > 0, timeout=30, step=0.5)
        relay.down()
        try:
            assert L.wait_until(lambda: any(l["spool_bytes"] > 0
                                            for l in stats_lines(run.stderr())), timeout=15), \
                "no stats line showed a spool while the node was unreachable\n" + run.stderr()
        finally:
            relay.up()
        drained = L.wait_until(lambda: (lambda ls: ls and ls[-1]["spool_bytes"] == 0 and
                                        any(l["spool_bytes"] for l in ls))(
                                            stats_lines(run.stderr())), timeout=45, step=0.5)
    finally:
        sent = paced.stop()
    time.sleep(1.5)
    res, _ = stop_live(run, L.UdpSender(lab.ns_b, lab.addr_a, PORT), tag, timeout=120)
    assert res.rc == 0, res.describe()
    assert drained, "the stats lines never showed the spool empty again\n" + res.describe()
    lines = stats_lines(res.stderr)
    summ = L.summary_stats(res.stderr)
    assert int(summ["spooled"]) > 0 and int(summ["replayed"]) > 0, summ
    assert max(l["spool_bytes"] for l in lines) > 0
    assert lines[-1]["packets"] <= int(summ["packets"]) and int(summ["packets"]) >= len(sent)
    assert lines[-1]["rejected"] == int(summ["rejected"]) == 0
    assert lines[-1]["pending"] < 1000, lines[-1]
    live_node.clean(prefix)
