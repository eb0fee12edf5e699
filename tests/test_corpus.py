# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --dir over tcpdump's hostile regression corpus (../shared/pcaps/corpus).

espcap runs once over the whole directory; its output is checked against what
Wireshark's reader (capinfos, which shares tshark's wiretap) gets from each file.
"""

import os
import subprocess
from collections import Counter

import pytest

from helpers import docs as D
from helpers import espcap as E

TIMEOUT = 300


def _regular_files(d):
    names = sorted((n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))),
                   key=lambda n: n.encode())
    return names


# corpus_expected ({name: (count_or_None, error_text)} from Wireshark's reader) is in
# tests/conftest.py: tests/es/test_es_corpus.py needs it too, and it costs a capinfos run
# per file.


@pytest.fixture(scope="session")
def corpus_run(corpus_dir, espcap_cached):
    return espcap_cached(f"--dir={corpus_dir}", timeout=TIMEOUT)


def _crash_note(res, corpus_dir):
    last = E.last_file_name(res.stdout)
    names = _regular_files(corpus_dir)
    nxt = None
    if last:
        base = str(last).rsplit("/", 1)[-1]
        if base in names and names.index(base) + 1 < len(names):
            nxt = names[names.index(base) + 1]
    return (f"espcap {E.signal_note(res.rc)} while processing the corpus; last file_name "
            f"on stdout: {last} (the crash is in that file, or the next one: {nxt})")


def test_corpus_no_crash(corpus_run, corpus_dir):
    assert corpus_run.rc in (0, 1), _crash_note(corpus_run, corpus_dir) + "\n" + \
        corpus_run.describe()


def test_corpus_output_is_valid_json(corpus_run):
    bad = []
    for i, line in enumerate(corpus_run.lines, 1):
        try:
            E.parse_line(line)
        except (ValueError, UnicodeDecodeError) as e:
            bad.append(f"  line {i}: {e}: {line[:160]!r}")
    assert not bad, f"{len(bad)} invalid lines on stdout:\n" + "\n".join(bad[:15])


def test_corpus_counts_per_file(corpus_run, corpus_expected, corpus_dir):
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    got = Counter()
    order = []
    for i, line in enumerate(corpus_run.lines, 1):
        try:
            doc = E.parse_line(line)
        except (ValueError, UnicodeDecodeError):
            continue  # reported by test_corpus_output_is_valid_json
        fn = doc.get("file_name")
        got[fn] += 1
        if not order or order[-1] != fn:
            order.append(fn)
    prefix = f"{corpus_dir}/"
    unknown = [fn for fn in got if not (isinstance(fn, str) and fn.startswith(prefix)
                                        and fn[len(prefix):] in corpus_expected)]
    assert not unknown, f"documents with unexpected file_name values: {unknown[:5]}"
    bad = []
    for name, (count, err) in corpus_expected.items():
        want = count or 0
        have = got.get(prefix + name, 0)
        if have != want:
            bad.append(f"  {name}: espcap {have} documents, Wireshark's reader {want} packets"
                       + (f" ({err.splitlines()[0]})" if err else ""))
    assert not bad, f"{len(bad)} files with wrong document counts:\n" + "\n".join(bad[:25])
    # name order, each file's documents together
    assert len(order) == len(set(order)), "a file's documents are not contiguous"
    names = [fn[len(prefix):] for fn in order]
    assert names == sorted(names, key=lambda n: n.encode()), "files not in name (byte) order"


def test_corpus_unreadable_files_warned(corpus_run, corpus_expected, corpus_dir):
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    failing = {n: err for n, (count, err) in corpus_expected.items() if count is None or err}
    missing = [f"  {n}: Wireshark says: {err.splitlines()[0] if err else '?'}"
               for n, err in failing.items()
               if not corpus_run.warnings_for(f"{corpus_dir}/{n}")]
    assert not missing, (f"{len(missing)} files Wireshark cannot read wholly have no "
                         f"'espcap: warning: {corpus_dir}/NAME: REASON' line:\n"
                         + "\n".join(missing[:20]))
    if failing:
        assert corpus_run.rc == 1, f"exit status must be 1 when a file failed\n" + \
            corpus_run.describe()
    warned = {w.split(": ", 1)[0] for w in corpus_run.warnings}
    spurious = sorted(w for w in warned
                      if w.startswith(f"{corpus_dir}/")
                      and w[len(str(corpus_dir)) + 1:] not in failing)
    # not an error in itself (espcap may be stricter than capinfos), but say so
    if spurious:
        print(f"note: warnings for files Wireshark reads without error: {spurious[:10]}")


def test_corpus_summary_adds_up(corpus_run, corpus_expected, corpus_dir):
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    line = corpus_run.summary_line
    problem = E.summary_problem(line)
    assert not problem, f"{problem}\n{corpus_run.describe()}"
    s = {k: int(v) for k, v in corpus_run.summary.items() if v.isdigit()}
    n_files = len(corpus_expected)
    failed = {w.split(": ", 1)[0] for w in corpus_run.warnings
              if w.startswith(f"{corpus_dir}/")}
    want_packets = sum(c or 0 for c, _ in corpus_expected.values())
    assert s["files"] == n_files, f"files={s['files']}, the directory holds {n_files}: {line}"
    assert s["documents"] == len(corpus_run.lines), \
        f"documents={s['documents']} but stdout has {len(corpus_run.lines)} lines: {line}"
    assert s["packets"] == want_packets, f"packets={s['packets']}, expected {want_packets}: {line}"
    assert s["failed_files"] == len(failed), \
        f"failed_files={s['failed_files']} but {len(failed)} files were warned about: {line}"


@pytest.fixture(scope="module")
def corpus_mapping(corpus_run):
    """Every parseable document of the corpus run, seen as one Elasticsearch index."""
    m = D.MappingChecker()
    for line in corpus_run.lines:
        try:
            doc = E.parse_line(line)
        except (ValueError, UnicodeDecodeError):
            continue
        m.add(doc, D.where(doc))
    return m


def test_corpus_no_mapping_conflicts(corpus_run, corpus_dir, corpus_mapping):
    """Indexed into one Elasticsearch index, no path may be both object and value."""
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    c = corpus_mapping.conflicts()
    assert not c, f"{len(c)} object/value mapping conflicts:\n" + D.format_conflicts(c)


def test_corpus_no_type_conflicts(corpus_run, corpus_dir, corpus_mapping):
    """Across the corpus, a path never holds values of two JSON types."""
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    c = corpus_mapping.type_conflicts()
    assert not c, f"{len(c)} type conflicts:\n" + D.format_conflicts(c)


def test_corpus_no_duplicate_keys(corpus_run, corpus_dir):
    assert corpus_run.rc >= 0, _crash_note(corpus_run, corpus_dir)
    bad = []
    for i, line in enumerate(corpus_run.lines, 1):
        try:
            doc = E.parse_line(line)
        except (ValueError, UnicodeDecodeError):
            continue
        bad.extend(f"  {D.where(doc)}: {d}" for d in E.find_duplicates(doc))
    assert not bad, f"{len(bad)} keys repeated within one object:\n" + "\n".join(bad[:20])


@pytest.fixture(scope="session")
def asan_bin(repo_root):
    """build/espcap-asan, built with `make asan` (skips if that fails)."""
    try:
        p = subprocess.run(["make", "asan"], cwd=repo_root, capture_output=True,
                           text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"`make asan` could not run: {e}")
    path = repo_root / "build" / "espcap-asan"
    if p.returncode != 0 or not path.exists():
        pytest.skip(f"`make asan` failed (status {p.returncode}): "
                    f"{(p.stderr or p.stdout)[-500:]}")
    return path


@pytest.mark.slow
def test_corpus_asan(asan_bin, corpus_dir, repo_root):
    env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1"}
    res = E.run([f"--dir={corpus_dir}", "--protocols-list=conf/protocols.list"],
                binary=asan_bin, env=env, timeout=900, cwd=repo_root)
    report = ""
    if "ERROR: AddressSanitizer" in res.stderr:
        i = res.stderr.index("ERROR: AddressSanitizer")
        report = res.stderr[max(0, i - 200):i + 3000]
    assert not report, (f"AddressSanitizer error ({_crash_note(res, corpus_dir)}):\n{report}")
    # `make asan` also builds with -fsanitize=undefined: its reports say "runtime error:"
    ub = [l for l in res.stderr_lines if "runtime error:" in l]
    assert not ub, f"UndefinedBehaviorSanitizer reports ({len(ub)}):\n" + "\n".join(ub[:10])
    assert res.rc in (0, 1), _crash_note(res, corpus_dir) + "\n" + res.describe()
