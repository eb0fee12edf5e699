# SPDX-License-Identifier: GPL-2.0-or-later
"""Live capture with dissection workers: the reader gives up root once the interface is
open, the workers never hold it; packets of many flows are spread over the workers and
come back in capture order; memory stays flat over many dissection-session resets.

Traffic is the generator's mix, replayed with tcpreplay from namespace b onto the veth
pair; espcap captures in namespace a.
"""

import json
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import livenet as L
from helpers import procs as P

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)

NOBODY = pwd.getpwnam("nobody").pw_uid


@pytest.fixture(scope="module")
def mix(capgen_bin, tmp_path_factory):
    """The generator's mix: many flows (so that the flow hash has something to spread)."""
    p = tmp_path_factory.mktemp("livemix") / "mix.pcap"
    subprocess.run([str(capgen_bin), "bench", "20000", str(p)], check=True, timeout=120)
    return p


@pytest.fixture(scope="module")
def tcpreplay():
    path = shutil.which("tcpreplay")
    if not path:
        pytest.skip("tcpreplay is not installed (scripts/setup.sh installs it)")
    return path


def replay(lab, capture, pps, limit, loop=1):
    cmd = lab.exec_args(lab.ns_b, ["tcpreplay", f"--intf1={lab.IF_B}", f"--pps={pps}",
                                   f"--loop={loop}", "--preload-pcap"]
                        + ([f"--limit={limit}"] if limit else [])
                        + ([f"--pps-multi={max(2, pps // 10000)}"] if pps >= 20000 else [])
                        + [str(capture)])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _key(doc):
    return (doc.get("community_id"), doc["length"], doc["protocols"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: checks that root is given up")
def test_live_reader_and_workers_give_up_root(lab, start_live, tcpreplay, mix, run_espcap,
                                              tmp_path):
    """Started as root with --workers=2: once the interface is open the reader is nobody
    with no capability (bounding set included) and no_new_privs, and so are the zygote and
    both workers; the packets, from many flows, are spread over both workers and come back
    in capture order; the summary file, in a directory only root may enter, is written."""
    n = 6000
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    summary = private / "summary.json"
    run = start_live(f"--nic={lab.IF_A}", f"--count={n}", "--workers=2",
                     f"--summary-json={summary}")
    run.wait_for("capturing as nobody")
    pid = run.proc.pid
    tr = replay(lab, mix, 2000, n + 200)
    seen = {}
    deadline = time.monotonic() + 60
    while run.proc.poll() is None and time.monotonic() < deadline:
        for p in P.tree(pid):
            try:
                seen[p] = P.status(p)
            except OSError:
                pass
        if len(seen) >= 4:  # reader, zygote, two workers
            break
        time.sleep(0.05)
    tr.wait(120)
    res = run.finish(timeout=120)
    assert len(seen) >= 4, f"saw {len(seen)} processes: {list(seen)}\n{res.describe()}"
    for p, st in seen.items():
        what = "the reader" if p == pid else f"process {p} (under the reader)"
        assert [int(x) for x in st["Uid"].split()] == [NOBODY] * 4, (what, st["Uid"])
        assert [int(x) for x in st["Gid"].split()][0] != 0, (what, st["Gid"])
        assert st.get("Groups", "") == "", (what, st.get("Groups"))
        for cap in ("CapEff", "CapPrm", "CapBnd"):
            assert int(st[cap], 16) == 0, (what, cap, st[cap])
        assert st["NoNewPrivs"] == "1", (what, st["NoNewPrivs"])
    assert res.rc == 0, res.describe()
    docs = res.docs
    assert len(docs) == n and [d["frame_number"] for d in docs] == list(range(1, n + 1))
    s = json.loads(summary.read_text())
    assert s["documents"] == n and s["exit_status"] == 0, s
    assert s["workers"] == 2 and sum(s["worker_packets"]) == n, s
    assert min(s["worker_packets"]) > n / 5, f"the load was not spread: {s['worker_packets']}"
    # the same packets, in the same order, as the capture file read with one worker
    ref = [_key(d) for d in run_espcap(f"--file={mix}", "--workers=1").docs]
    got = [_key(d) for d in docs]
    assert got == ref[:n], "live documents differ from the file's, or their order does"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_run_as_root_keeps_root_and_warns(lab, start_live, tcpreplay, mix):
    run = start_live(f"--nic={lab.IF_A}", "--count=50", "--run-as=root")
    run.wait_ready()
    tr = replay(lab, mix, 1000, 50)
    tr.wait(60)
    res = run.finish(timeout=60)
    assert res.rc == 0, res.describe()
    assert any("--run-as=root" in w for w in res.warnings), res.describe()
    assert "capturing as" not in res.stderr
    assert len(res.docs) == 50


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_unknown_run_as_user(lab, start_live):
    run = start_live(f"--nic={lab.IF_A}", "--count=1", "--run-as=no-such-user-espcap")
    res = run.finish(timeout=60)
    assert res.rc == 2, res.describe()
    assert "--run-as" in res.stderr and "no-such-user-espcap" in res.stderr


@pytest.mark.slow
def test_live_memory_flat_over_many_resets(lab, start_live, tcpreplay, mix):
    """--reset-every=20000 with two workers over 300,000 packets at 30,000/s: every worker
    is replaced by a fresh one after 20,000 packets, and the whole process tree (reader,
    zygote, workers) stands at the end within 50 MB of where it stood after the first
    30,000 to 90,000 packets. Without the resets it grows by about 13 MB a second here."""
    total, pps = 300000, 30000
    run = start_live(f"--nic={lab.IF_A}", "--workers=2", "--reset-every=20000")
    run.wait_ready()
    pid = run.proc.pid
    tr = replay(lab, mix, pps, total, loop=0)
    early = late = 0
    t0 = time.monotonic()
    while tr.poll() is None and time.monotonic() - t0 < 120:
        m = P.pss_kb(P.tree(pid))
        got = (time.monotonic() - t0) * pps  # packets sent so far, about
        if 30000 <= got < 90000:
            early = max(early, m)
        elif 180000 <= got < total - 10000:
            late = max(late, m)
        time.sleep(0.1)
    tr.wait(120)
    time.sleep(1)
    run.signal()
    res = run.finish(timeout=120)
    assert res.rc == 0, res.describe()
    cap = L.capture_stats(res.stderr)
    # (a loaded machine may drop some: memory is what this test is about)
    assert cap and int(cap["captured"]) > total // 2, res.describe()
    assert early > 0 and late > 0, (early, late)
    assert late - early < 50 * 1024, \
        f"the process tree grew from {early // 1024} MB to {late // 1024} MB"
