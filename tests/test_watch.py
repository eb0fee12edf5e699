# SPDX-License-Identifier: GPL-2.0-or-later
"""--dir --watch to stdout: files already there, copied in, moved in, written slowly, in new
sub-directories, left open by their writer; restarts that read nothing twice; the state
file; the fallback for files espcap cannot prove closed. (tests/es/test_es_watch.py does
the same into a real node.)"""

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import espcap as E
from helpers.ci import missing
from helpers.watch import Watch, write_slowly


@pytest.fixture
def watches():
    made = []
    yield made
    for w in made:
        if w.p.poll() is None:
            w.p.kill()
            w.p.wait(10)


@pytest.fixture(scope="module")
def packets_per_copy(sample_pcap, run_espcap):
    res = run_espcap(f"--file={sample_pcap}")
    assert res.rc == 0
    return len(res.lines)


def test_watch_reads_each_file_once_across_restarts(espcap_bin, sample_pcap, tmp_path,
                                                    packets_per_copy, watches):
    n = packets_per_copy
    data = sample_pcap.read_bytes()
    d = tmp_path / "captures"
    d.mkdir()
    state = tmp_path / "watch.state"
    (d / "00-before.pcap").write_bytes(data)

    w = Watch(espcap_bin, d, state, cwd=tmp_path, name="run1")
    watches.append(w)
    w.wait(lambda: w.counts().get(f"{d}/00-before.pcap") == n, what="the file already there")
    shutil.copy(sample_pcap, d / "01-copied.pcap")
    # written slowly: nothing of it may be read before its writer closes it
    slow = threading.Thread(target=write_slowly, args=(d / "02-slow.pcap", data))
    slow.start()
    time.sleep(2.5)
    assert f"{d}/02-slow.pcap" not in w.counts(), "a file still being written was read"
    slow.join()
    # moved in from elsewhere (a writer that renames a finished file)
    (tmp_path / "03-moved.pcap").write_bytes(data)
    os.rename(tmp_path / "03-moved.pcap", d / "03-moved.pcap")
    want = {f"{d}/{x}": n for x in ("00-before.pcap", "01-copied.pcap", "02-slow.pcap",
                                     "03-moved.pcap")}
    w.wait(lambda: w.counts() == want, what="four files")
    assert w.stop(signal.SIGTERM) == 0, w.stderr()
    first = w.counts()

    # espcap is down: files arrive; one is being written when it starts again
    shutil.copy(sample_pcap, d / "04-while-down.pcap")
    writer = open(d / "05-open.pcap", "wb")
    writer.write(data[: len(data) // 2])
    writer.flush()
    w2 = Watch(espcap_bin, d, state, cwd=tmp_path, name="run2")
    watches.append(w2)
    w2.wait(lambda: w2.counts().get(f"{d}/04-while-down.pcap") == n, what="the file from "
            "the time espcap was down")
    time.sleep(2)
    assert f"{d}/05-open.pcap" not in w2.counts(), "a file held open for writing was read"
    writer.write(data[len(data) // 2:])
    writer.close()
    w2.wait(lambda: w2.counts().get(f"{d}/05-open.pcap") == n, what="the file once closed")
    assert w2.stop(signal.SIGINT) == 0, w2.stderr()
    second = w2.counts()
    assert not set(first) & set(second), f"read twice: {set(first) & set(second)}"

    # a third run with nothing new reads nothing
    w3 = Watch(espcap_bin, d, state, cwd=tmp_path, name="run3")
    watches.append(w3)
    w3.wait(lambda: "left out" in w3.stderr(), what="the note on files done")
    time.sleep(1.5)
    assert w3.stop() == 0
    assert w3.counts() == {}, w3.counts()
    assert "6 files done in an earlier run" in w3.stderr(), w3.stderr()
    lines = state.read_text().splitlines()
    assert lines[0] == "espcap-state 1" and lines[1] == f"dir {d.resolve()}"
    assert sorted(l.split(" ", 3)[3] for l in lines[2:]) == \
        sorted(p.name for p in d.iterdir())
    # the summary of a watch ended by a signal, exit status 0 included
    summ = [l for l in w.stderr().splitlines() if l.startswith(E.SUMMARY_PREFIX)]
    assert summ and not E.summary_problem(summ[-1]) and " files=4 " in summ[-1], w.stderr()


def test_watch_recursive_new_directories(espcap_bin, sample_pcap, tmp_path, packets_per_copy,
                                         watches):
    n = packets_per_copy
    d = tmp_path / "captures"
    (d / "2024-01-01").mkdir(parents=True)
    shutil.copy(sample_pcap, d / "2024-01-01" / "a.pcap")
    w = Watch(espcap_bin, d, tmp_path / "s.state", "--recursive", "--ignore=*.part",
              cwd=tmp_path)
    watches.append(w)
    w.wait(lambda: w.counts().get(f"{d}/2024-01-01/a.pcap") == n, what="a.pcap")
    (d / "2024-01-02" / "x").mkdir(parents=True)
    shutil.copy(sample_pcap, d / "2024-01-02" / "x" / "b.pcap")
    shutil.copy(sample_pcap, d / "2024-01-02" / "b.pcap.part")   # ignored, then renamed
    os.rename(d / "2024-01-02" / "b.pcap.part", d / "2024-01-02" / "c.pcap")
    w.wait(lambda: len(w.counts()) == 3, what="files in new sub-directories")
    time.sleep(1)
    assert w.counts() == {f"{d}/2024-01-01/a.pcap": n, f"{d}/2024-01-02/x/b.pcap": n,
                          f"{d}/2024-01-02/c.pcap": n}
    assert w.stop() == 0


def test_watch_without_recursive_leaves_subdirectories(espcap_bin, sample_pcap, tmp_path,
                                                       packets_per_copy, watches):
    d = tmp_path / "captures"
    d.mkdir()
    w = Watch(espcap_bin, d, tmp_path / "s.state", cwd=tmp_path)
    watches.append(w)
    time.sleep(1)
    (d / "sub").mkdir()
    shutil.copy(sample_pcap, d / "sub" / "a.pcap")
    shutil.copy(sample_pcap, d / "b.pcap")
    w.wait(lambda: w.counts(), what="b.pcap")
    time.sleep(1.5)
    assert w.counts() == {f"{d}/b.pcap": packets_per_copy}
    assert w.stop() == 0


def test_state_file_in_the_watched_directory(espcap_bin, sample_pcap, tmp_path, watches,
                                             packets_per_copy):
    """A state file inside the directory is never read as a capture."""
    d = tmp_path / "captures"
    d.mkdir()
    shutil.copy(sample_pcap, d / "a.pcap")
    w = Watch(espcap_bin, d, d / ".state", cwd=tmp_path)
    watches.append(w)
    w.wait(lambda: w.counts(), what="a.pcap")
    shutil.copy(sample_pcap, d / "b.pcap")
    w.wait(lambda: len(w.counts()) == 2, what="b.pcap")
    time.sleep(2)
    assert w.stop() == 0
    assert "warning" not in w.stderr(), w.stderr()
    assert set(w.counts()) == {f"{d}/a.pcap", f"{d}/b.pcap"}


def test_state_file_of_another_directory(run_espcap, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    state = tmp_path / "s.state"
    res = run_espcap(f"--dir={a}", f"--state-file={state}")
    assert res.rc == 0, res.describe()
    res = run_espcap(f"--dir={b}", f"--state-file={state}", "--watch")
    assert res.rc == 2 and res.stdout == b"", res.describe()
    assert str(state) in res.stderr and str(a) in res.stderr and str(b) in res.stderr
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    res = run_espcap(f"--dir={a}", f"--state-file={other}")
    assert res.rc == 2 and other.read_text() == "my notes\n", res.describe()


def test_state_file_without_watch(run_espcap, sample_pcap, tmp_path, packets_per_copy):
    """--dir with --state-file: each run reads only the files that are new or changed."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(sample_pcap, d / "a.pcap")
    state = tmp_path / "s.state"
    r1 = run_espcap(f"--dir={d}", f"--state-file={state}")
    shutil.copy(sample_pcap, d / "b.pcap")
    r2 = run_espcap(f"--dir={d}", f"--state-file={state}")
    with open(d / "a.pcap", "ab") as f:   # changed since: read again
        f.write(b"")
    os.utime(d / "a.pcap", ns=(time.time_ns(), time.time_ns()))
    r3 = run_espcap(f"--dir={d}", f"--state-file={state}")
    r4 = run_espcap(f"--dir={d}")          # without it: everything, as always
    for r in (r1, r2, r3, r4):
        assert r.rc == 0, r.describe()
    by = lambda r: Counter(doc["file_name"] for doc in r.docs)
    assert by(r1) == {f"{d}/a.pcap": packets_per_copy}
    assert by(r2) == {f"{d}/b.pcap": packets_per_copy}
    assert by(r3) == {f"{d}/a.pcap": packets_per_copy}
    assert by(r4) == {f"{d}/a.pcap": packets_per_copy, f"{d}/b.pcap": packets_per_copy}


def test_watch_interrupted_file_is_read_again(espcap_bin, capgen_bin, tmp_path, watches):
    """A file whose reading a signal cut short is not done: the next run reads it whole."""
    big = tmp_path / "big.pcap"
    subprocess.run([str(capgen_bin), "bench", "30000", str(big)], check=True,
                   capture_output=True, timeout=120)
    d = tmp_path / "captures"
    d.mkdir()
    shutil.copy(big, d / "big.pcap")
    state = tmp_path / "s.state"
    w = Watch(espcap_bin, d, state, cwd=tmp_path, name="cut")
    watches.append(w)
    w.wait(lambda: w.counts(), what="the first documents")
    assert w.stop(signal.SIGINT) == 0
    cut = w.counts()[f"{d}/big.pcap"]
    assert 0 < cut < 30000, f"the run was not cut short ({cut}); the machine is too fast"
    assert "big.pcap" not in state.read_text()
    w2 = Watch(espcap_bin, d, state, cwd=tmp_path, name="again")
    watches.append(w2)
    w2.wait(lambda: w2.counts().get(f"{d}/big.pcap") == 30000, timeout=300, what="big.pcap")
    time.sleep(1.5)  # the state is written at most once a second
    assert w2.stop() == 0
    assert "whole big.pcap" in state.read_text()


def test_watch_fallback_quiet_time(espcap_bin, sample_pcap, tmp_path, watches,
                                   packets_per_copy):
    """Run as another user, espcap cannot take a read lease on root's files (the proof that
    no one writes them): a file found at start-up is read once unchanged for
    --watch-settle seconds."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        missing("needs root and setpriv to run espcap as another user")
    for p in [tmp_path] + list(tmp_path.parents):
        if p == Path("/"):
            break
        os.chmod(p, os.stat(p).st_mode | 0o005)
    probe = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            str(espcap_bin), "--version"], capture_output=True,
                           env=dict(os.environ, HOME="/nonexistent"))
    if probe.returncode != 0:
        missing(f"espcap cannot run as nobody here: {probe.stderr[-300:]!r}")
    d = tmp_path / "captures"
    d.mkdir()
    shutil.copy(sample_pcap, d / "old.pcap")
    old = time.time() - 3600
    os.utime(d / "old.pcap", (old, old))
    shutil.copy(sample_pcap, d / "fresh.pcap")
    work = tmp_path / "work"
    work.mkdir()
    os.chown(work, 65534, 65534)
    w = Watch(espcap_bin, d, work / "s.state", "--watch-settle=4", cwd=work,
              prefix=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"],
              env={"HOME": str(work), "XDG_CONFIG_HOME": str(work)})
    watches.append(w)
    t0 = time.monotonic()
    w.wait(lambda: w.counts().get(f"{d}/old.pcap") == packets_per_copy, what="old.pcap")
    assert f"{d}/fresh.pcap" not in w.counts()
    w.wait(lambda: w.counts().get(f"{d}/fresh.pcap") == packets_per_copy, timeout=30,
           what="fresh.pcap after its quiet time")
    assert time.monotonic() - t0 >= 2.5, "fresh.pcap was read before its quiet time"
    # a file copied in while espcap runs is seen closed (inotify): no quiet time
    t1 = time.monotonic()
    shutil.copy(sample_pcap, d / "new.pcap")
    w.wait(lambda: w.counts().get(f"{d}/new.pcap") == packets_per_copy, what="new.pcap")
    assert time.monotonic() - t1 < 3.5
    assert w.stop() == 0, w.stderr()
