# SPDX-License-Identifier: GPL-2.0-or-later
"""--dir mode over a directory of good, bad and odd files."""

import gzip
import os
import shutil

import pytest

from helpers import espcap as E
from helpers import tshark as T

NOT_A_CAPTURE = (
    "This is a plain text file, not a packet capture.\n"
    "espcap must report it by name and go on with the other files.\n" * 20
)


@pytest.fixture(scope="module")
def bad_dir(sample_pcap, tmp_path_factory, need_tshark):
    """A directory of files; returns (dir, {name: expectation})."""
    d = tmp_path_factory.mktemp("dirmode") / "in"
    d.mkdir()
    data = sample_pcap.read_bytes()
    files = {}

    def put(name, content, **exp):
        (d / name).write_bytes(content)
        files[name] = exp

    # Byte order differs from a locale's order: 'B' < 'Z' < '_' < 'a'.
    put("A_sample.pcap", data, good=True)
    put("B_sample.pcap.gz", gzip.compress(data, mtime=0), good=True)
    put("Z_truncated.pcap", data[:-10], truncated=True)
    put("_empty", b"", empty=True)
    put("a_sample.txt", data, good=True)
    put("b_notes.txt", NOT_A_CAPTURE.encode(), bad=True)
    if os.geteuid() != 0:
        put("c_unreadable.pcap", data, bad=True)
        os.chmod(d / "c_unreadable.pcap", 0)
    # not regular files: skipped (a FIFO must not be opened: it would block)
    (d / "sub").mkdir()
    (d / "sub" / "inner.pcap").write_bytes(data)
    os.mkfifo(d / "fifo")

    # Preconditions on what Wireshark's reader makes of them.
    count, err = T.count(d / "b_notes.txt")
    assert count is None, f"precondition: Wireshark reads the text file ({count}, {err})"
    count, err = T.count(d / "Z_truncated.pcap")
    assert count is not None and "cut short" in err, \
        f"precondition: truncating the sample did not cut a record ({count}, {err!r})"
    files["Z_truncated.pcap"]["count"] = count
    n = T.count(sample_pcap)[0]
    assert n and T.count(d / "B_sample.pcap.gz")[0] == n, "precondition: gzip capture"
    for name, exp in files.items():
        if exp.get("good"):
            exp["count"] = n
        elif exp.get("bad") or exp.get("empty"):
            exp["count"] = 0
    yield d, files
    for name, exp in files.items():
        if name.startswith("c_unreadable"):
            os.chmod(d / name, 0o644)


@pytest.fixture(scope="module")
def dir_run(bad_dir, run_espcap):
    d, files = bad_dir
    return run_espcap(f"--dir={d}", timeout=120)


def _by_file(res):
    out = {}
    order = []
    for doc in res.docs:
        fn = doc["file_name"]
        out.setdefault(fn, []).append(doc)
        if not order or order[-1] != fn:
            order.append(fn)
    return out, order


def test_exit_status(dir_run):
    assert dir_run.rc == 1, f"bad files in the directory: exit status must be 1\n" + \
        dir_run.describe()


def test_name_order_and_counts(dir_run, bad_dir):
    d, files = bad_dir
    by, order = _by_file(dir_run)
    assert len(order) == len(set(order)), f"a file's documents are not contiguous: {order}"
    want_order = [f"{d}/{n}" for n in sorted(files, key=lambda n: n.encode())
                  if files[n]["count"]]
    assert order == want_order, "files not processed in byte order of their names"
    counts = {n: len(by.get(f"{d}/{n}", [])) for n in files}
    want = {n: files[n]["count"] for n in files}
    assert counts == want, f"documents per file: got {counts}, expected {want}"
    for fn, docs in by.items():
        assert [x["frame_number"] for x in docs] == list(range(1, len(docs) + 1)), \
            f"{fn}: frame_number is not 1..N"


def test_not_regular_files_skipped(dir_run, bad_dir):
    """A sub-directory is passed over quietly (no --recursive); a FIFO is never opened (it
    would block the run), and a warning says it was skipped."""
    d, files = bad_dir
    by, _ = _by_file(dir_run)
    for odd in ("sub", "fifo"):
        assert not [fn for fn in by if fn.startswith(f"{d}/{odd}")], f"{odd} was read"
    assert not [w for w in dir_run.warnings if w.startswith(f"{d}/sub")], dir_run.describe()
    fifo = [w for w in dir_run.warnings if w.startswith(f"{d}/fifo")]
    assert len(fifo) == 1 and "FIFO" in fifo[0] and "skipped" in fifo[0], dir_run.describe()


def test_same_documents_for_copies(dir_run, bad_dir):
    """The .gz and the .txt copies give the same documents as the plain capture."""
    d, files = bad_dir
    by, _ = _by_file(dir_run)
    strip = lambda docs: [{k: v for k, v in x.items() if k not in ("file_name", "file_date_utc")}
                          for x in docs]
    ref = strip(by.get(f"{d}/A_sample.pcap", []))
    assert ref
    for name in ("B_sample.pcap.gz", "a_sample.txt"):
        assert strip(by.get(f"{d}/{name}", [])) == ref, f"{name} differs from A_sample.pcap"


def test_warnings_name_bad_files(dir_run, bad_dir):
    d, files = bad_dir
    for name, exp in files.items():
        reasons = dir_run.warnings_for(f"{d}/{name}")
        if exp.get("good"):
            assert not reasons, f"unexpected warning for {name}: {reasons}"
        elif exp.get("bad") or exp.get("truncated"):
            assert reasons, (f"no 'espcap: warning: {d}/{name}: REASON' line\n"
                             + dir_run.describe())
            assert all(len(r.strip()) >= 5 for r in reasons), f"reason too short: {reasons}"


def test_truncated_file(dir_run, bad_dir):
    d, files = bad_dir
    reasons = dir_run.warnings_for(f"{d}/Z_truncated.pcap")
    assert any("cut short" in r for r in reasons), \
        f"the warning for the truncated file must say it is cut short: {reasons}"
    by, _ = _by_file(dir_run)
    docs = by.get(f"{d}/Z_truncated.pcap", [])
    full = by.get(f"{d}/A_sample.pcap", [])
    assert len(docs) == files["Z_truncated.pcap"]["count"]
    strip = lambda x: {k: v for k, v in x.items() if k not in ("file_name", "file_date_utc")}
    assert [strip(x) for x in docs] == [strip(x) for x in full[:len(docs)]], \
        "the complete packets before the cut differ from the same packets in the whole file"


def test_summary(dir_run, bad_dir):
    d, files = bad_dir
    s = dir_run.summary
    problem = E.summary_problem(dir_run.summary_line)
    assert not problem, f"{problem}\n{dir_run.describe()}"
    # files that failed (the FIFO's warning says it was skipped: it is no file of the run)
    failed = {w.split(": ", 1)[0] for w in dir_run.warnings if "skipped" not in w}
    n_bad = sum(1 for e in files.values() if e.get("bad") or e.get("truncated"))
    assert int(s["files"]) == len(files), f"{len(files)} regular files: {dir_run.summary_line}"
    assert int(s["failed_files"]) == len(failed) >= n_bad, dir_run.summary_line
    assert int(s["documents"]) == len(dir_run.lines), dir_run.summary_line
    assert int(s["packets"]) == sum(e["count"] for e in files.values()), dir_run.summary_line


def test_relative_dir_file_names(run_espcap, sample_pcap, tmp_path):
    """file_name is DIR/name with DIR exactly as given, relative too."""
    d = tmp_path / "rel"
    d.mkdir()
    shutil.copy(sample_pcap, d / "x.pcap")
    # the protocols list given explicitly: this test is about file_name, not the
    # default location of the list
    res = run_espcap("--dir=rel", f"--protocols-list={E.ROOT}/conf/protocols.list",
                     cwd=tmp_path)
    assert res.rc == 0, res.describe()
    assert {doc["file_name"] for doc in res.docs} == {"rel/x.pcap"}


def test_empty_dir(run_espcap, tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    res = run_espcap(f"--dir={d}")
    assert res.rc == 0, res.describe()
    assert res.stdout == b""
    assert res.summary and res.summary["files"] == "0", res.describe()


# ---- --recursive ------------------------------------------------------------

@pytest.fixture(scope="module")
def tree(sample_pcap, tmp_path_factory):
    """Folders by date, a symbolic link loop, a second link to one folder, a FIFO deep
    down, names that sort differently by byte and by locale."""
    d = tmp_path_factory.mktemp("tree") / "captures"
    data = sample_pcap.read_bytes()
    for rel in ("2024-01-01/a.pcap", "2024-01-01/B.pcap", "2024-01-02/x/deep.pcap",
                "2024-01-02/z.pcap", "top.pcap", "Z/skip.part", ".hidden/h.pcap"):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    os.symlink("..", d / "2024-01-02" / "x" / "loop")            # back to an ancestor
    os.symlink("2024-01-01", d / "also-2024-01-01")              # the same folder again
    os.mkfifo(d / "2024-01-02" / "fifo")
    return d


def test_recursive_order_loops_and_links(run_espcap, tree):
    res = run_espcap(f"--dir={tree}", "--recursive", "--ignore=*.part", timeout=180)
    assert res.rc == 0, res.describe()
    _, order = _by_file(res)
    want = [".hidden/h.pcap", "2024-01-01/B.pcap", "2024-01-01/a.pcap",
            "2024-01-02/x/deep.pcap", "2024-01-02/z.pcap", "top.pcap"]
    assert order == [f"{tree}/{w}" for w in want], \
        "not depth-first in byte order of names, or a file read twice / not read"
    loops = res.warnings_for(f"{tree}/2024-01-02/x/loop")
    assert loops and "loop" in loops[0], res.describe()
    again = res.warnings_for(f"{tree}/also-2024-01-01")
    assert again and "2024-01-01" in again[0], res.describe()
    assert int(res.summary["files"]) == len(want)
    # --ignore applies to folders as well
    res2 = run_espcap(f"--dir={tree}", "--recursive", "--ignore=*.part", "--ignore=.*",
                      "--ignore=2024-01-02", timeout=180)
    _, order2 = _by_file(res2)
    assert order2 == [f"{tree}/{w}" for w in ("2024-01-01/B.pcap", "2024-01-01/a.pcap",
                                              "top.pcap")]


def test_not_recursive_by_default(run_espcap, tree):
    res = run_espcap(f"--dir={tree}")
    assert res.rc == 0, res.describe()
    assert {doc["file_name"] for doc in res.docs} == {f"{tree}/top.pcap"}
    assert not res.warnings, res.describe()

