# SPDX-License-Identifier: GPL-2.0-or-later
"""Dissection workers (src/worker/): same documents with any number of them, a crash
costs one packet, flat memory over many files and live resets, no privileges while
parsing, Ctrl-C loses nothing."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import espcap as E
from helpers import procs as P


def _lines(res):
    assert res.rc in (0, 1), res.describe()
    return res.lines


def _diff(a, b, limit=8):
    """Where two runs' documents differ, field by field."""
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        dx, dy = json.loads(x), json.loads(y)

        def flat(d, p=""):
            if isinstance(d, dict):
                r = {}
                for k, v in d.items():
                    r.update(flat(v, f"{p}/{k}"))
                return r
            if isinstance(d, list):
                r = {}
                for k, v in enumerate(d):
                    r.update(flat(v, f"{p}[{k}]"))
                return r
            return {p: d}
        fx, fy = flat(dx), flat(dy)
        keys = sorted(k for k in set(fx) | set(fy) if fx.get(k) != fy.get(k))
        out.append(f"  document {i + 1} ({dx.get('file_name')}#{dx.get('frame_number')}): "
                   + "; ".join(f"{k}: {fx.get(k)!r} != {fy.get(k)!r}" for k in keys[:4]))
        if len(out) >= limit:
            break
    if len(a) != len(b):
        out.append(f"  {len(a)} documents != {len(b)}")
    return "\n".join(out)


@pytest.fixture(scope="module")
def mix(capgen_bin, tmp_path_factory):
    p = tmp_path_factory.mktemp("mix") / "mix.pcap"
    subprocess.run([str(capgen_bin), "bench", "20000", str(p)], check=True, timeout=120)
    return p


@pytest.mark.parametrize("what", ["mix", "http", "dns", "corpus"])
def test_one_worker_and_two_write_the_same(what, request, run_espcap, fidelity_report):
    """--workers=1 and --workers=2: byte for byte the same documents, in the same order
    (frame numbers and fields that refer to frames are the capture's; per-session
    counters such as tcp.stream are renumbered in capture order)."""
    src = {"mix": lambda: f"--file={request.getfixturevalue('mix')}",
           "http": lambda: f"--file={request.getfixturevalue('http_pcap')}",
           "dns": lambda: f"--file={request.getfixturevalue('dns_pcap')}",
           "corpus": lambda: f"--dir={request.getfixturevalue('corpus_dir')}"}[what]()
    one = _lines(run_espcap(src, "--workers=1", timeout=600))
    two = _lines(run_espcap(src, "--workers=2", timeout=600))
    assert one == two, f"{what}: --workers=1 and --workers=2 differ:\n{_diff(one, two)}"
    three = _lines(run_espcap(src, "--workers=3", timeout=600))
    assert one == three, f"{what}: --workers=1 and --workers=3 differ:\n{_diff(one, three)}"
    fidelity_report(f"--workers=1, 2 and 3: the same {len(one)} documents ({what})")


def test_load_is_spread(run_espcap, mix, tmp_path):
    """The flow hash spreads the generator's mix (many flows) over the workers: with
    --workers=3 each gets at least a fifth of the packets, and the counts add up."""
    summary = tmp_path / "summary.json"
    res = run_espcap(f"--file={mix}", "--workers=3", f"--summary-json={summary}")
    assert res.rc == 0, res.describe()
    s = json.loads(summary.read_text())
    assert s["workers"] == 3, s
    per = s["worker_packets"]
    assert len(per) == 3 and sum(per) == s["packets"] == 20000, s
    assert min(per) > s["packets"] / 5, f"one worker got too little of the load: {per}"


# ---- a crash costs one packet -------------------------------------------------------

def test_crash_twice_costs_one_packet(run_espcap, http_pcap):
    clean = _lines(run_espcap(f"--file={http_pcap}", "--workers=2"))
    res = run_espcap(f"--file={http_pcap}", "--workers=2",
                     env={"ESPCAP_TEST_CRASH_FRAME": "100"})
    assert res.rc == 1, f"a crashed packet must make the exit status 1\n{res.describe()}"
    assert len(res.lines) == len(clean) == 1268
    docs = res.docs
    bad = [d for d in docs if "espcap.error" in d]
    assert len(bad) == 1 and bad[0]["frame_number"] == 100, [d["frame_number"] for d in bad]
    assert bad[0]["espcap.error"] == "dissector crashed (signal 6)"
    for k in ("@timestamp", "sniff_timestamp", "file_name", "length", "caplen"):
        assert k in bad[0], f"the error document lacks {k}"
    assert int(res.summary["crashed"]) == 1, res.summary_line
    assert [d["frame_number"] for d in docs] == list(range(1, 1269))
    # the packets before the crash are untouched
    assert res.lines[:99] == clean[:99]
    assert any("trying it once more" in w for w in res.warnings), res.describe()


def test_crash_once_is_retried(run_espcap, http_pcap):
    res = run_espcap(f"--file={http_pcap}", "--workers=2",
                     env={"ESPCAP_TEST_CRASH_FRAME": "100:once"})
    assert res.rc == 0, res.describe()
    docs = res.docs
    assert len(docs) == 1268 and not [d for d in docs if "espcap.error" in d]
    assert int(res.summary["crashed"]) == 0
    assert docs[99]["frame_number"] == 100 and docs[99]["protocols"]


def test_crash_in_a_directory_run_goes_on(run_espcap, sample_pcap, tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    for n in ("a.pcap", "b.pcap", "c.pcap"):
        (d / n).write_bytes(sample_pcap.read_bytes())
    res = run_espcap(f"--dir={d}", env={"ESPCAP_TEST_CRASH_FRAME": "5"})
    assert res.rc == 1, res.describe()
    per_file = {}
    for doc in res.docs:
        per_file.setdefault(doc["file_name"], []).append(doc)
    assert len(per_file) == 3 and all(len(v) == 49 for v in per_file.values())
    assert sum("espcap.error" in x for v in per_file.values() for x in v) == 3
    assert int(res.summary["crashed"]) == 3


# ---- flat memory --------------------------------------------------------------------

@pytest.mark.slow
def test_memory_flat_over_many_files(espcap_bin, sample_pcap, tmp_path):
    """200 small files: every file gets fresh workers, so the whole process group (reader,
    zygote, workers) stays well under 600 MB where one process grew by 11 MB a file."""
    d = tmp_path / "many"
    d.mkdir()
    data = sample_pcap.read_bytes()
    for i in range(200):
        (d / f"f{i:03}.pcap").write_bytes(data)
    p = subprocess.Popen([str(espcap_bin), f"--dir={d}"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    peak = 0
    while p.poll() is None:
        peak = max(peak, P.pss_kb(P.tree(p.pid)))
        time.sleep(0.05)
    err = p.stderr.read().decode()
    assert p.returncode == 0, err
    assert "documents=9800" in err, err
    assert 0 < peak < 600 * 1024, f"peak {peak // 1024} MB for the whole process group"


# ---- privileges ---------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: checks that workers drop it")
def test_workers_run_as_nobody_without_capabilities(espcap_bin, mix):
    """Started as root on a file: the zygote and the workers are nobody with no capability
    and no_new_privs; the reader (which opens the files) stays who it was."""
    import pwd
    nobody = pwd.getpwnam("nobody").pw_uid
    p = subprocess.Popen([str(espcap_bin), f"--file={mix}", "--workers=2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = {}
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        for q in P.tree(p.pid)[1:]:
            try:
                seen[q] = P.status(q)
            except OSError:
                pass
        if len(seen) >= 3:
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    assert len(seen) >= 3, f"saw only {len(seen)} child processes: {list(seen)}"
    for pid, st in seen.items():
        uids = [int(x) for x in st["Uid"].split()]
        assert uids == [nobody] * 4, f"process {pid}: Uid {st['Uid']}"
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, (pid, st["CapEff"])
        assert int(st["CapBnd"], 16) == 0, (pid, st["CapBnd"])
        assert st["NoNewPrivs"] == "1", (pid, st["NoNewPrivs"])


# ---- Ctrl-C -------------------------------------------------------------------------

def test_sigint_with_two_workers_loses_nothing(espcap_bin, mix, tmp_path):
    """SIGINT mid-file: every packet read before it has its document, then the summary;
    exit status 130."""
    out_path = tmp_path / "out.ndjson"
    with open(out_path, "wb") as out:
        p = subprocess.Popen([str(espcap_bin), f"--file={mix}", "--workers=2"],
                             stdout=out, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        # reading has begun (a signal during start-up just ends the process)
        while out_path.stat().st_size == 0 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    err = err.decode()
    lines = out_path.read_bytes().splitlines()
    summary = [l for l in err.splitlines() if l.startswith(E.SUMMARY_PREFIX)]
    assert p.returncode == 130, err
    assert summary, err
    fields = dict(t.split("=", 1) for t in summary[0][len(E.SUMMARY_PREFIX):].split())
    assert 0 < len(lines) == int(fields["documents"]) == int(fields["packets"]) < 20000, \
        summary[0]
    frames = [json.loads(l)["frame_number"] for l in lines]
    assert frames == list(range(1, len(lines) + 1)), "a packet read was not delivered"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the user is looked up to drop root")
def test_run_as(run_espcap, sample_pcap):
    """--run-as: an unknown user is a usage error naming it (exit 2, nothing written);
    root keeps root with a warning and the same documents."""
    bad = run_espcap(f"--file={sample_pcap}", "--run-as=no-such-user-espcap")
    assert bad.rc == 2 and not bad.lines, bad.describe()
    assert "--run-as" in bad.stderr and "no-such-user-espcap" in bad.stderr
    root = run_espcap(f"--file={sample_pcap}", "--run-as=root")
    assert root.rc == 0, root.describe()
    assert any("--run-as=root" in w for w in root.warnings), root.describe()
    assert root.lines == run_espcap(f"--file={sample_pcap}").lines
