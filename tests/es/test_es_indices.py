# SPDX-License-Identifier: GPL-2.0-or-later
"""Index names and settings (issue 10, item 6): --index-interval=day|month|year|none, the
out-of-range index for packets dated before --min-year or more than --max-future seconds
ahead (counted in the summary line and --summary-json), --shards and --replicas in the
index template; on a real node of every engine where the engine matters."""

import json
import subprocess
import time
from datetime import datetime, timezone

import pytest

from es_support import summary_ints

SAMPLE_DAY = "2024-03-01"   # build/capgen sample: 2024-03-01 12:00 UTC onwards (docs/capgen.md)


def indices_of(node, prefix):
    """{index: documents} of PREFIX's indices: PREFIX itself and PREFIX-*."""
    _, rows = node.request("GET", f"/_cat/indices/{prefix}*?format=json&h=index")
    names = [r["index"] for r in rows if r["index"] == prefix or
             r["index"].startswith(prefix + "-")]
    out = {}
    for n in names:
        node.request("POST", f"/{n}/_refresh")
        out[n] = node.request("GET", f"/{n}/_count")[1]["count"]
    return out


def clean(node, prefix):
    names = list(indices_of(node, prefix))
    if names:
        node.request("DELETE", "/" + ",".join(names))
    node.request("DELETE", f"/_index_template/espcap-{prefix}", ok=None)
    node.request("DELETE", f"/_template/espcap-{prefix}", ok=None)


def run(run_espcap, node, prefix, capture, tmp_path, *args):
    clean(node, prefix)
    js = tmp_path / f"summary-{prefix}.json"
    res = run_espcap(f"--node={node.hostport}", f"--index-prefix={prefix}", f"--file={capture}",
                     f"--rejected={tmp_path}/rejected.ndjson", f"--summary-json={js}", *args,
                     cwd=tmp_path, timeout=180)
    assert res.rc == 0, res.describe()
    return res, json.loads(js.read_text())


@pytest.fixture(scope="module")
def sample_docs(sample_pcap, run_espcap):
    n = len(run_espcap(f"--file={sample_pcap}").lines)
    assert n > 20
    return n


# ----------------------------------------------------------------------------- intervals

@pytest.mark.parametrize("interval,suffix", [
    ("day", "-" + SAMPLE_DAY), ("month", "-" + SAMPLE_DAY[:7]), ("year", "-" + SAMPLE_DAY[:4]),
    ("none", "")])
def test_index_interval(es_node, sample_pcap, sample_docs, run_espcap, prefix, tmp_path,
                        interval, suffix):
    """Every document of the sample (one UTC day) lands in the one index the interval
    names; the template's patterns cover it (so it is mapped as the template says)."""
    res, js = run(run_espcap, es_node, prefix, sample_pcap, tmp_path,
                  f"--index-interval={interval}")
    s = summary_ints(res)
    assert (s["indexed"], s["out_of_range"]) == (sample_docs, 0), res.summary_line
    assert js["out_of_range"] == 0 and js["indexed"] == sample_docs, js
    assert indices_of(es_node, prefix) == {prefix + suffix: sample_docs}
    m = es_node.request("GET", f"/{prefix + suffix}/_mapping")[1][prefix + suffix]["mappings"]
    assert m["properties"]["@timestamp"]["type"] == "date"     # from the template
    assert m["properties"]["sniff_date_utc"]["format"] == "yyyy-MM-dd HH:mm:ss"
    clean(es_node, prefix)


def test_bench_crosses_midnight_by_interval(es_node, capgen_bin, run_espcap, prefix, tmp_path):
    """A bench capture spans 2024-03-01 to 03-02 (36 h, whatever its size; 2,000 packets
    here, not the 40,000 of bench_pcap, to save a minute): two daily indices, one monthly,
    with every document once."""
    n = 2000
    pcap = tmp_path / "bench2000.pcap"
    subprocess.run([str(capgen_bin), "bench", str(n), str(pcap)], check=True,
                   capture_output=True, timeout=60)
    res, _ = run(run_espcap, es_node, prefix, pcap, tmp_path)
    got = indices_of(es_node, prefix)
    assert set(got) == {f"{prefix}-2024-03-01", f"{prefix}-2024-03-02"} and \
        sum(got.values()) == n, got
    res, _ = run(run_espcap, es_node, prefix, pcap, tmp_path, "--index-interval=month")
    assert indices_of(es_node, prefix) == {f"{prefix}-2024-03": n}
    clean(es_node, prefix)


# ----------------------------------------------------------------------------- the window

def _shifted(sample_pcap, tmp_path, seconds, name):
    """The sample with every time moved by SECONDS (editcap -t)."""
    out = tmp_path / name
    subprocess.run(["editcap", "-t", str(seconds), str(sample_pcap), str(out)], check=True,
                   capture_output=True, timeout=60)
    return out


def _sample_start(sample_pcap):
    return datetime(2024, 3, 1, 12, tzinfo=timezone.utc).timestamp()


def test_before_min_year_goes_out_of_range(es_node, sample_pcap, sample_docs, run_espcap,
                                           prefix, tmp_path):
    # the default window (1990 onwards) keeps 2024
    res, js = run(run_espcap, es_node, prefix, sample_pcap, tmp_path)
    assert indices_of(es_node, prefix) == {f"{prefix}-{SAMPLE_DAY}": sample_docs}
    assert summary_ints(res)["out_of_range"] == 0
    # --min-year=2025: all of them in PREFIX-out-of-range, counted in both summaries
    res, js = run(run_espcap, es_node, prefix, sample_pcap, tmp_path, "--min-year=2025")
    s = summary_ints(res)
    assert (s["indexed"], s["out_of_range"]) == (sample_docs, sample_docs), res.summary_line
    assert js["out_of_range"] == sample_docs, js
    assert indices_of(es_node, prefix) == {f"{prefix}-out-of-range": sample_docs}
    # whatever the interval
    run(run_espcap, es_node, prefix, sample_pcap, tmp_path, "--min-year=2025",
        "--index-interval=none")
    assert indices_of(es_node, prefix) == {f"{prefix}-out-of-range": sample_docs}
    # --min-year=2024: in range again (January 1st, 00:00 UTC is the limit)
    run(run_espcap, es_node, prefix, sample_pcap, tmp_path, "--min-year=2024")
    assert indices_of(es_node, prefix) == {f"{prefix}-{SAMPLE_DAY}": sample_docs}
    clean(es_node, prefix)


def test_future_packets_go_out_of_range(es_node, sample_pcap, sample_docs, run_espcap, prefix,
                                        tmp_path):
    """The sample moved to two days from now: out of range by default (more than a day
    ahead), in its daily index with --max-future=0 (no limit) or --max-future=4d; moved to
    an hour from now, in range by default."""
    start = _sample_start(sample_pcap)
    two_days = _shifted(sample_pcap, tmp_path, int(time.time() + 2 * 86400 - start),
                        "future.pcap")
    res, js = run(run_espcap, es_node, prefix, two_days, tmp_path)
    assert summary_ints(res)["out_of_range"] == sample_docs == js["out_of_range"]
    assert indices_of(es_node, prefix) == {f"{prefix}-out-of-range": sample_docs}
    for opt in ("--max-future=0", f"--max-future={4 * 86400}"):
        res, js = run(run_espcap, es_node, prefix, two_days, tmp_path, opt)
        assert js["out_of_range"] == 0, (opt, js)
        got = indices_of(es_node, prefix)
        assert len(got) in (1, 2) and sum(got.values()) == sample_docs and \
            not any(k.endswith("out-of-range") for k in got), (opt, got)
    an_hour = _shifted(sample_pcap, tmp_path, int(time.time() + 3600 - start), "soon.pcap")
    res, js = run(run_espcap, es_node, prefix, an_hour, tmp_path)
    assert js["out_of_range"] == 0, js
    clean(es_node, prefix)


def test_hostile_timestamps_make_two_indices(es_node, sample_pcap, sample_docs, run_espcap,
                                             prefix, tmp_path):
    """tcpdump-style hostile times: copies of the sample moved to 1970, 1985, the last
    second of 1989, 2038 and 2106 (pcap's last second), after the sample itself. Daily
    indices would make 6 or more; they make the sample's day and PREFIX-out-of-range."""
    start = int(_sample_start(sample_pcap))
    targets = [0, 473385600, 631151999 - 600, 2147483000, 4294960000]
    parts = [sample_pcap] + [_shifted(sample_pcap, tmp_path, t - start, f"part{i}.pcap")
                             for i, t in enumerate(targets)]
    merged = tmp_path / "hostile.pcap"
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(merged)] + [str(p) for p in parts],
                   check=True, capture_output=True, timeout=60)
    res, js = run(run_espcap, es_node, prefix, merged, tmp_path)
    n = 6 * sample_docs
    s = summary_ints(res)
    assert (s["documents"], s["indexed"], s["out_of_range"]) == (n, n, 5 * sample_docs), \
        res.summary_line
    assert js["out_of_range"] == 5 * sample_docs
    assert indices_of(es_node, prefix) == {f"{prefix}-{SAMPLE_DAY}": sample_docs,
                                           f"{prefix}-out-of-range": 5 * sample_docs}
    # the same capture by month and by year: still two
    for interval, name in (("month", SAMPLE_DAY[:7]), ("year", SAMPLE_DAY[:4])):
        run(run_espcap, es_node, prefix, merged, tmp_path, f"--index-interval={interval}")
        assert indices_of(es_node, prefix) == {f"{prefix}-{name}": sample_docs,
                                               f"{prefix}-out-of-range": 5 * sample_docs}
    # with the window off, every date has its own index again
    run(run_espcap, es_node, prefix, merged, tmp_path, "--min-year=0", "--max-future=0",
        "--index-interval=year")
    assert set(indices_of(es_node, prefix)) == {
        f"{prefix}-{y}" for y in ("2024", "1970", "1985", "1989", "2038", "2106")}
    clean(es_node, prefix)


# ----------------------------------------------------------------------------- settings

def _settings(node, index):
    return node.request("GET", f"/{index}/_settings")[1][index]["settings"]["index"]


def test_shards_and_replicas(any_node, dns_pcap, run_espcap, prefix, tmp_path):
    """--shards and --replicas reach every new index through the template (composable or
    legacy, whichever the engine has); without them the engine decides. (A replica on a
    one-node cluster stays unassigned: the index is yellow, and writes still succeed.)"""
    node = any_node
    res, _ = run(run_espcap, node, prefix, dns_pcap, tmp_path, "--shards=3", "--replicas=1")
    (index, n), = indices_of(node, prefix).items()
    assert n == 108
    st = _settings(node, index)
    assert (st["number_of_shards"], st["number_of_replicas"]) == ("3", "1"), st
    _, health = node.request("GET", f"/_cluster/health/{index}")
    assert health["status"] == "yellow", health   # its 3 replicas have no node to go to

    res, _ = run(run_espcap, node, prefix, dns_pcap, tmp_path, "--replicas=0")
    (index, n), = indices_of(node, prefix).items()
    st = _settings(node, index)
    assert (st["number_of_shards"], st["number_of_replicas"]) == ("1", "0"), st

    # neither: the engine's defaults, those of an index made with no settings at all (and
    # matching no template)
    probe = f"probe-{prefix}"
    node.request("PUT", f"/{probe}")
    want = _settings(node, probe)
    node.request("DELETE", f"/{probe}")
    res, _ = run(run_espcap, node, prefix, dns_pcap, tmp_path)
    (index, n), = indices_of(node, prefix).items()
    st = _settings(node, index)
    assert (st["number_of_shards"], st["number_of_replicas"]) == \
        (want["number_of_shards"], want["number_of_replicas"]), st
    tmpl = node.request("GET", f"/_index_template/espcap-{prefix}", ok=None)
    legacy = node.request("GET", f"/_template/espcap-{prefix}", ok=None)
    body = json.dumps(tmpl[1] if tmpl[0] == 200 else legacy[1])
    assert "number_of_shards" not in body and "number_of_replicas" not in body, body
    clean(node, prefix)


def test_one_index_template_for_every_interval(any_node, dns_pcap, run_espcap, prefix,
                                               tmp_path):
    """--index-interval=none names the index PREFIX itself: the template must match it too,
    on every engine (else it would be dynamically mapped)."""
    node = any_node
    run(run_espcap, node, prefix, dns_pcap, tmp_path, "--index-interval=none")
    assert indices_of(node, prefix) == {prefix: 108}
    m = node.request("GET", f"/{prefix}/_mapping")[1][prefix]["mappings"]["properties"]
    assert m["capture"]["type"] == "keyword" and m["sniff_timestamp"]["type"] == "double", m
    assert m["layers"]["properties"]["network"]["properties"]["ip"]["properties"]["src"][
        "type"] == "ip"
    clean(node, prefix)


def test_nested_prefixes(any_node, dns_pcap, run_espcap, prefix, tmp_path):
    """Two prefixes, one the start of the other (PREFIX and PREFIX-dmz): both templates
    install (the engines refuse two composable templates of the same priority whose
    patterns overlap: espcap's priority grows with the prefix's length), and PREFIX-dmz's
    indices, which PREFIX-* matches too, get PREFIX-dmz's template."""
    node = any_node
    inner = f"{prefix}-dmz"
    clean(node, inner)
    run(run_espcap, node, prefix, dns_pcap, tmp_path, "--shards=2")
    run(run_espcap, node, inner, dns_pcap, tmp_path, "--shards=3")
    got = indices_of(node, prefix)
    mine = {i: n for i, n in got.items() if not i.startswith(inner)}
    assert list(mine.values()) == [108] and list(indices_of(node, inner).values()) == [108], got
    assert _settings(node, next(iter(mine)))["number_of_shards"] == "2"
    assert _settings(node, next(iter(indices_of(node, inner))))["number_of_shards"] == "3"
    clean(node, inner)
    clean(node, prefix)
