# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --dir over the hostile corpus (../shared/pcaps/corpus) into the node:
every packet Wireshark reads lands, nothing is rejected, every field is mapped
with the type its Wireshark type calls for."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from es_support import mapping_problems, summary_ints
from helpers import tshark as T

TIMEOUT = 240


@pytest.fixture(scope="module")
def corpus_packets(corpus_dir, need_tshark):
    """Sum over the corpus of the packets Wireshark's reader gets (capinfos)."""
    names = sorted(p for p in corpus_dir.iterdir() if p.is_file())
    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda p: T.count(p)[0] or 0, names))
    return len(names), sum(counts)


@pytest.fixture(scope="module")
def corpus_run(es_node, index_run, corpus_dir, tmp_path_factory):
    wd = tmp_path_factory.mktemp("corpus")
    prefix = "t-corpus"
    # no --rejected: the default ./espcap-rejected.ndjson (in WD) must not appear
    res = index_run(es_node, prefix, f"--dir={corpus_dir}", cwd=wd, timeout=TIMEOUT)
    return prefix, res, wd


def test_corpus_indexed_without_rejections(es_node, corpus_run, corpus_packets):
    prefix, res, wd = corpus_run
    # exit 1 is expected: some corpus files are not captures Wireshark reads
    assert res.rc in (0, 1), res.describe()
    s = summary_ints(res)
    assert s["rejected"] == 0, f"documents rejected: {res.summary_line}"
    assert not (wd / "espcap-rejected.ndjson").exists(), "a dead-letter file was written"
    assert res.rc == (1 if s["failed_files"] else 0), \
        f"exit status {res.rc} with failed_files={s['failed_files']}"
    n_files, n_packets = corpus_packets
    assert s["files"] == n_files, res.summary_line
    assert s["packets"] == s["documents"] == n_packets, \
        f"Wireshark reads {n_packets} packets from the corpus: {res.summary_line}"
    assert s["indexed"] + s["already_present"] == s["documents"], res.summary_line
    assert s["already_present"] == 0, res.summary_line
    assert es_node.count(prefix) == s["documents"]


def test_corpus_mappings(es_node, corpus_run, field_types):
    prefix, res, wd = corpus_run
    assert res.rc in (0, 1), res.describe()
    maps = es_node.mapping(prefix)
    assert maps
    bad = mapping_problems(maps, field_types)
    assert not bad, f"{len(bad)} mapping problems:\n" + "\n".join(bad[:40])
