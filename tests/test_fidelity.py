# SPDX-License-Identifier: GPL-2.0-or-later
"""Every field tshark -T pdml shows, in espcap's documents, with the same value.

For each capture (the shared ones, every file of the hostile corpus, the generator's,
and copies of them cut to a snap length with editcap -s), every field Wireshark shows
for a packet must be in espcap's document of that packet with the same value, repeats
in the same order, and espcap must add none, allowing only the differences
docs/schema.md documents (tests/helpers/fidelity.py applies them). The agreement is
reported at the end of the run (pytest's terminal summary) and must be 100%.
"""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from helpers import fidelity as F
from helpers import tshark as T

SNAPLEN = "80"  # cuts most packets of every capture here: headers stay, payloads go


@pytest.fixture(scope="module")
def types(need_tshark):
    return T.registered_fields()


def _docs_by_file(run_espcap, *args):
    res = run_espcap(*args, "--max-bytes=0", timeout=900)
    assert res.rc in (0, 1), res.describe()
    out = {}
    for line in res.stdout.decode("utf-8").splitlines():
        doc = json.loads(line, parse_float=Decimal)
        out.setdefault(doc["file_name"], []).append(doc)
    return out


def _check(paths, docs, types, title, fidelity_report):
    total = F.Agreement()
    bad = []

    def one(p):
        return p, F.compare_capture(p, docs.get(str(p), []), types)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for p, agg in pool.map(one, paths):
            total.add(agg)
            if not agg.perfect():
                bad.append(agg.report(os.path.basename(str(p)), limit=5))
    fidelity_report(total.report(title, limit=0).splitlines()[0])
    assert total.perfect(), total.report(title) + "\n\nper file:\n" + "\n".join(bad[:20])


def _cut(src, dst):
    p = subprocess.run(["editcap", "-s", SNAPLEN, str(src), str(dst)], capture_output=True,
                       text=True, timeout=120)
    return p.returncode == 0 and dst.exists()


@pytest.mark.parametrize("name", ["test_http.pcap", "test_dns.pcap"])
def test_shared_captures(name, shared_pcaps, run_espcap, types, fidelity_report):
    path = shared_pcaps / name
    _check([path], _docs_by_file(run_espcap, f"--file={path}"), types, f"pdml vs espcap: {name}",
           fidelity_report)


@pytest.mark.slow
def test_corpus(corpus_dir, run_espcap, types, fidelity_report):
    paths = sorted((corpus_dir / n for n in os.listdir(corpus_dir)), key=lambda p: p.name.encode())
    _check(paths, _docs_by_file(run_espcap, f"--dir={corpus_dir}"), types,
           f"pdml vs espcap: the corpus ({len(paths)} files)", fidelity_report)


def test_generated_captures(sample_pcap, capgen_bin, tmp_path, run_espcap, types,
                            fidelity_report):
    mix = tmp_path / "mix.pcap"
    subprocess.run([str(capgen_bin), "bench", "3000", str(mix)], check=True, timeout=120)
    paths = [sample_pcap, mix]
    docs = {}
    for p in paths:
        docs.update(_docs_by_file(run_espcap, f"--file={p}"))
    _check(paths, docs, types, "pdml vs espcap: the generator's captures", fidelity_report)


@pytest.fixture(scope="module")
def cut_captures(tmp_path_factory, shared_pcaps, corpus_dir, sample_pcap, capgen_bin):
    """The shared and generated captures cut with editcap -s 80 (the files editcap can
    write: not every link type of the corpus), and the corpus's cut files concatenated
    into one pcapng (mergecap -a keeps each file's link type per interface): one tshark
    start-up instead of four hundred."""
    d = tmp_path_factory.mktemp("snaplen")
    mix = d / "mix-src.pcap"
    subprocess.run([str(capgen_bin), "bench", "3000", str(mix)], check=True, timeout=120)
    singles = [shared_pcaps / "test_http.pcap", shared_pcaps / "test_dns.pcap", sample_pcap, mix]
    corpus = sorted(corpus_dir.iterdir(), key=lambda p: p.name.encode())
    (d / "corpus").mkdir()
    jobs = [(s, d / f"cut-{s.name}") for s in singles] + \
           [(s, d / "corpus" / s.name) for s in corpus]
    with ThreadPoolExecutor(max_workers=2) as pool:
        oks = list(pool.map(lambda j: _cut(*j), jobs))
    made = [dst for (src, dst), ok in zip(jobs, oks) if ok]
    cut_corpus = sorted(p for p in made if p.parent.name == "corpus")
    assert len(cut_corpus) >= 300, f"editcap -s {SNAPLEN} wrote only {len(cut_corpus)} files"
    merged = d / "cut-corpus.pcapng"
    p = subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", str(merged), *map(str, cut_corpus)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return [p for p in made if p.parent == d] + [merged], len(cut_corpus)


@pytest.mark.slow
def test_snaplen_cut_captures(cut_captures, run_espcap, types, fidelity_report):
    paths, n_corpus = cut_captures
    docs = {}
    for p in paths:
        # The corpus's files concatenated are one dissection session that no real capture
        # is: connections of different files meet (MPTCP subflows of one file join another
        # file's connection, over another address pair, so on another worker). One worker
        # dissects it as tshark does; the real captures go through the default workers.
        one = ["--workers=1"] if p.name == "cut-corpus.pcapng" else []
        docs.update(_docs_by_file(run_espcap, f"--file={p}", *one))
    # the cut really cuts: many packets' captured length is below their length
    cut = sum(1 for v in docs.values() for doc in v if doc["caplen"] < doc["length"])
    assert cut > 1000, f"only {cut} packets were cut by editcap -s {SNAPLEN}"
    _check(paths, docs, types, f"pdml vs espcap: captures cut to {SNAPLEN} bytes (the shared "
           f"and generated ones, and {n_corpus} corpus files in one pcapng)", fidelity_report)
