# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --dir over the hostile corpus (../shared/pcaps/corpus) into the node:
every packet Wireshark reads lands, nothing is rejected, every field is mapped
with the type its Wireshark type calls for; packets dated before 1990 or after
tomorrow (tcpdump's test captures go from 1970 to 2106) land in one
PREFIX-out-of-range index, every other one in the index its date names."""

import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from es_support import mapping_problems, summary_ints

TIMEOUT = 240


@pytest.fixture(scope="module")
def corpus_packets(corpus_expected):
    """Files of the corpus, and the sum of the packets Wireshark's reader gets (capinfos)."""
    return len(corpus_expected), sum(c or 0 for c, _ in corpus_expected.values())


@pytest.fixture(scope="module")
def corpus_run(es_node, index_run, corpus_dir, tmp_path_factory):
    wd = tmp_path_factory.mktemp("corpus")
    prefix = "t-corpus"
    # no --rejected: the default ./espcap-rejected.ndjson (in WD) must not appear
    t0 = time.time()
    res = index_run(es_node, prefix, f"--dir={corpus_dir}", cwd=wd, timeout=TIMEOUT)
    return prefix, res, wd, (t0, time.time())


def test_corpus_indexed_without_rejections(es_node, corpus_run, corpus_packets):
    prefix, res, wd, _ = corpus_run
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
    prefix, res, wd, _ = corpus_run
    assert res.rc in (0, 1), res.describe()
    maps = es_node.mapping(prefix)
    assert maps
    # (Elasticsearch 7.17's server jar has no unsigned_long: double there)
    bad = mapping_problems(maps, field_types, es_node.flavor != "es7")
    assert not bad, f"{len(bad)} mapping problems:\n" + "\n".join(bad[:40])


Y1990 = 631152000   # 1990-01-01 00:00:00 UTC, the default --min-year


def _placement(node, index_pattern):
    """[(_index, @timestamp seconds)] of every document (scrolled: the corpus may hold more
    than a search's 10,000)."""
    node.request("POST", f"/{index_pattern}/_refresh")
    _, ans = node.request("POST", f"/{index_pattern}/_search?scroll=2m", {
        "size": 5000, "track_total_hits": True, "_source": ["@timestamp"],
        "sort": ["_doc"], "query": {"match_all": {}}})
    total = ans["hits"]["total"]["value"]
    hits = list(ans["hits"]["hits"])
    sid = ans.get("_scroll_id")
    while ans["hits"]["hits"] and len(hits) < total:
        _, ans = node.request("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": sid})
        hits += ans["hits"]["hits"]
        sid = ans.get("_scroll_id", sid)
    node.request("DELETE", "/_search/scroll", {"scroll_id": sid}, ok=None)
    assert len(hits) == total, (len(hits), total)
    return [(h["_index"], datetime.fromisoformat(h["_source"]["@timestamp"].replace(
        "Z", "+00:00")).timestamp()) for h in hits]


def test_corpus_hostile_dates_share_one_index(es_node, corpus_run):
    """Each document is in the index its date names (UTC day), or in PREFIX-out-of-range
    when dated before 1990 or more than a day after the run: one index for all of
    those (the corpus used to make 224 daily indices, 33 of them for dates from 1970 to
    1988 and from 2028 to 2106)."""
    prefix, res, wd, (t0, t1) = corpus_run
    s = summary_ints(res)
    placed = _placement(es_node, f"{prefix}-*")
    assert len(placed) == s["documents"]
    wrong, out, days = [], 0, set()
    for index, ts in placed:
        if ts < Y1990 or ts > t1 + 86400:
            want = f"{prefix}-out-of-range"
            out += 1
        elif ts > t0 + 86400:
            continue   # (the run's clock moved while it ran: either index is right)
        else:
            day = datetime.fromtimestamp(ts // 1, tz=timezone.utc).strftime("%Y-%m-%d")
            want = f"{prefix}-{day}"
            days.add(want)
        if index != want:
            wrong.append((index, ts, want))
    assert not wrong, f"{len(wrong)} documents in the wrong index: {wrong[:10]}"
    assert out > 50, f"the corpus has dates before 1990 and after 2100: {out} out of range"
    assert s["out_of_range"] == out, res.summary_line
    got = Counter(index for index, _ in placed)
    assert set(got) == days | {f"{prefix}-out-of-range"}, sorted(set(got) ^ days)
    assert got[f"{prefix}-out-of-range"] == out
