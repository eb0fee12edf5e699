# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --node: what lands in the index, how it is mapped, what is sent.

Issue 3's contract: daily indices <prefix>-YYYY-MM-DD by the packet's UTC date,
explicit mappings, `create` with deterministic ids (a second run adds nothing),
a dead-letter file for permanent rejections, gzip bodies with --compress.
"""

import json
import re
import shutil
from collections import Counter

import pytest

from es_support import (ES_SUMMARY_KEYS, RecordingProxy, mapping_problems,  # noqa: F401
                      packet_dates, summary_ints)

HTTP_PACKETS = 1268
DNS_PACKETS = 108


def _pcap(request, which):
    return request.getfixturevalue("http_pcap" if which == "http" else "dns_pcap")


def _tshark_count(tshark_fields_cached, path, display_filter):
    """`tshark -r PATH -Y FILTER | wc -l`."""
    return len(tshark_fields_cached(path, ["frame.number"], display_filter=display_filter))


# ----------------------------------------------------------------------------- 1

@pytest.mark.parametrize("which,total", [("http", HTTP_PACKETS), ("dns", DNS_PACKETS)])
def test_daily_indices_hold_every_packet(request, any_node, indexed, tshark_fields_cached,
                                         which, total):
    path = _pcap(request, which)
    ix = indexed(any_node, path)
    res = ix.result
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["files"], s["failed_files"], s["packets"], s["documents"]) == (1, 0, total, total), \
        res.summary_line
    assert (s["indexed"], s["already_present"], s["rejected"]) == (total, 0, 0), res.summary_line
    assert not (ix.workdir / "rejected.ndjson").exists(), "a dead-letter file was written"

    # the index names are the packets' UTC dates (tshark's frame.time_epoch)
    dates = packet_dates(tshark_fields_cached, path)
    assert sum(dates.values()) == total
    want = {f"{ix.prefix}-{d}": n for d, n in sorted(dates.items())}
    got = any_node.indices(ix.prefix)
    assert got == want, f"indices and their document counts differ:\n got {got}\nwant {want}"

    # every frame exactly once: frame numbers 1..total, their sum n(n+1)/2
    _, ans = any_node.request("POST", f"/{ix.prefix}-*/_search", {
        "size": 0, "track_total_hits": True,
        "aggs": {"f": {"stats": {"field": "frame_number"}}}})
    st = ans["aggregations"]["f"]
    assert (st["count"], st["min"], st["max"], st["sum"]) == \
        (total, 1, total, total * (total + 1) // 2), f"frame_number stats: {st}"


# ----------------------------------------------------------------------------- 2

def test_seed_queries_on_http(es_node, indexed, http_pcap, tshark_fields_cached,
                              protocols_list):
    ix = indexed(es_node, http_pcap)
    assert ix.result.rc == 0, ix.result.describe()
    node, p = es_node, ix.prefix

    def count(query):
        return node.count(p, query, refresh=False)

    node.refresh(p)
    # a term on ip.src: the most frequent source address tshark sees
    srcs = Counter(v for r in tshark_fields_cached(http_pcap, ["ip.src"]) for v in set(r["ip.src"]))
    assert srcs, "tshark sees no ip.src in test_http.pcap"
    addr, _ = srcs.most_common(1)[0]
    want = _tshark_count(tshark_fields_cached, http_pcap, f"ip.src=={addr}")
    got = count({"term": {"layers.network.ip.src": addr}})
    assert got == want, f"term ip.src={addr}: {got} documents, tshark {want}"
    # and one that tshark sees only a few times (not the same as the first)
    rare = [a for a, n in srcs.items() if a != addr and n < 20]
    if rare:
        want = _tshark_count(tshark_fields_cached, http_pcap, f"ip.src=={rare[0]}")
        got = count({"term": {"layers.network.ip.src": rare[0]}})
        assert got == want, f"term ip.src={rare[0]}: {got} documents, tshark {want}"

    # CIDR term query: only an `ip` mapping makes this work
    want = _tshark_count(tshark_fields_cached, http_pcap, "ip.src==10.0.0.0/8")
    assert want > 0
    got = count({"term": {"layers.network.ip.src": "10.0.0.0/8"}})
    assert got == want, f"term ip.src=10.0.0.0/8: {got} documents, tshark {want}"

    # range on the destination port (a long)
    want = _tshark_count(tshark_fields_cached, http_pcap, "tcp.dstport==80")
    got = count({"range": {"layers.transport.tcp.dstport": {"gte": 80, "lte": 80}}})
    assert want > 0 and got == want, f"range tcp.dstport 80..80: {got}, tshark {want}"
    want = _tshark_count(tshark_fields_cached, http_pcap, "tcp.dstport>=1024")
    got = count({"range": {"layers.transport.tcp.dstport": {"gte": 1024}}})
    assert got == want, f"range tcp.dstport >= 1024: {got}, tshark {want}"

    # http.chat. A packet's fields go to layers.application only when the packet's
    # `protocol` (the last protocol of frame.protocols that conf/protocols.list
    # names) is the application protocol itself: for test_http.pcap that is the
    # case of "...:tcp:http" and "...:http:media" ('media' is commented out in the
    # list), but "...:http:png", ":http:xml", ":http:image-jfif" make protocol png/
    # xml/image-jfif, and then the HTTP fields are in a layer of their own,
    # layers.http (keys "http.chat" -> layers.http.http.chat). So tshark's
    # `http.chat` count is split between the two, by that rule.
    listed = set(protocols_list)
    rows = tshark_fields_cached(http_pcap, ["frame.protocols"], display_filter="http.chat")
    total = len(rows)
    assert total > 0

    def decisive(protocols):
        named = [x for x in protocols.split(":") if x in listed]
        return named[-1] if named else None

    in_app = sum(1 for r in rows if decisive(r["frame.protocols"][0]) == "http")
    got_app = count({"match": {"layers.application.http.chat": True}})
    got_own = count({"exists": {"field": "layers.http.http.chat"}})
    assert (got_app, got_own) == (in_app, total - in_app), \
        (f"http.chat: {got_app} in layers.application + {got_own} in layers.http; tshark: "
         f"{total} packets, {in_app} of them with protocol http")
    assert count({"bool": {"filter": [{"term": {"protocol": "http"}},
                                      {"exists": {"field": "layers.application.http.chat"}}]}}) \
        == in_app


def test_protocol_term(es_node, indexed, dns_pcap, http_pcap, espcap_cached,
                       tshark_fields_cached):
    ix = indexed(es_node, dns_pcap)
    assert ix.result.rc == 0, ix.result.describe()
    assert es_node.count(ix.prefix, {"term": {"protocol": "dns"}}) == DNS_PACKETS
    assert es_node.count(ix.prefix, {"term": {"protocol": "http"}}) == 0
    # (tshark: every packet of test_dns.pcap is DNS)
    assert _tshark_count(tshark_fields_cached, dns_pcap, "dns") == DNS_PACKETS
    # every document's protocol survives indexing: compare with espcap's own NDJSON
    ix = indexed(es_node, http_pcap)
    out = espcap_cached(f"--file={http_pcap}")
    assert out.rc == 0, out.describe()
    want = Counter(d["protocol"] for d in out.docs)
    _, ans = es_node.request("POST", f"/{ix.prefix}-*/_search", {
        "size": 0, "aggs": {"p": {"terms": {"field": "protocol", "size": 1000}}}})
    got = Counter({b["key"]: b["doc_count"] for b in ans["aggregations"]["p"]["buckets"]})
    assert got == want


def _leaf(mapping, path):
    node = {"properties": mapping["mappings"]["properties"]}
    for part in path.split("."):
        props = node.get("properties", {})
        assert part in props, f"{path} is not mapped (no {part!r})"
        node = props[part]
    return node


def test_mapping_types(any_node, indexed, http_pcap, dns_pcap, sample_pcap, field_types):
    """On every engine: the types it has (Elasticsearch 7.17's server has no unsigned_long:
    double there)."""
    es_node = any_node
    has_ul = es_node.flavor != "es7"
    ix = indexed(es_node, http_pcap)
    assert ix.result.rc == 0, ix.result.describe()
    maps = es_node.mapping(ix.prefix)
    assert maps, "no index"
    for index, m in maps.items():
        for path, want in [("layers.network.ip.src", "ip"),
                           ("layers.network.ip.dst", "ip"),
                           ("layers.transport.tcp.dstport", "long"),
                           ("layers.network.ip.flags.df", "boolean"),
                           ("@timestamp", "date"),
                           ("protocol", "keyword"),
                           ("frame_number", "long"),
                           ("sniff_timestamp", "double")]:
            assert _leaf(m, path).get("type") == want, f"{index}: {path}: {_leaf(m, path)}"
    # an absolute time inside a layer: capgen's sample has an ICMP echo with a
    # timeval (icmp.data_time) and a TLS random_time
    sx = indexed(es_node, sample_pcap)
    assert sx.result.rc == 0, sx.result.describe()
    smaps = es_node.mapping(sx.prefix)
    for index, m in smaps.items():
        assert _leaf(m, "layers.transport.icmp.data_time").get("type") == "date", index
    # every mapped layer field has the type its Wireshark type calls for
    bad = []
    for ixx in (ix, indexed(es_node, dns_pcap), sx):
        bad += mapping_problems(es_node.mapping(ixx.prefix), field_types, has_ul)
    assert not bad, f"{len(bad)} mapping problems:\n" + "\n".join(bad[:30])


def test_template_installed(any_node, indexed, dns_pcap):
    """A composable template on every engine here (Elasticsearch 7.8+ and OpenSearch have
    them); it covers PREFIX-* and PREFIX itself (--index-interval=none)."""
    es_node = any_node
    ix = indexed(es_node, dns_pcap)
    st, ans = es_node.request("GET", f"/_index_template/espcap-{ix.prefix}", ok=None)
    assert st == 200, f"no index template espcap-{ix.prefix}: {ans}"
    t = ans["index_templates"][0]["index_template"]
    assert t["index_patterns"] == [f"{ix.prefix}-*", ix.prefix]
    props = t["template"]["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date"
    assert props["protocol"]["type"] == "keyword"


def test_summary_line_format(es_node, indexed, dns_pcap):
    """The index-mode summary has the contract's keys in the contract's order."""
    res = indexed(es_node, dns_pcap).result
    line = res.summary_line
    assert line is not None, res.describe()
    keys = [t.partition("=")[0] for t in line[len("espcap: summary: "):].split()]
    present = [k for k in keys if k in ES_SUMMARY_KEYS]
    assert present == ES_SUMMARY_KEYS, \
        f"summary keys {present}\n  contract order {ES_SUMMARY_KEYS}\n  line: {line}"
    s = res.summary
    assert re.fullmatch(r"\d+\.\d\ds", s["elapsed"]) and re.fullmatch(r"\d+/s", s["rate"]), line


# ----------------------------------------------------------------------------- 3

def test_second_run_adds_nothing(any_node, indexed, http_pcap, index_run, tmp_path):
    ix = indexed(any_node, http_pcap)
    assert ix.result.rc == 0, ix.result.describe()
    before = any_node.indices(ix.prefix)
    assert sum(before.values()) == HTTP_PACKETS
    res = index_run(any_node, ix.prefix, f"--file={http_pcap}",
                    f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, clean=False)
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["documents"], s["indexed"], s["already_present"], s["rejected"]) == \
        (HTTP_PACKETS, 0, HTTP_PACKETS, 0), res.summary_line
    assert any_node.indices(ix.prefix) == before
    assert not (tmp_path / "rejected.ndjson").exists()


def test_same_file_from_another_folder_adds_nothing(es_node, indexed, dns_pcap, index_run,
                                                    tmp_path):
    """The capture id depends on the base name and the first record, not the folder."""
    ix = indexed(es_node, dns_pcap)
    assert ix.result.rc == 0, ix.result.describe()
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(dns_pcap, other / dns_pcap.name)
    res = index_run(es_node, ix.prefix, f"--file={other / dns_pcap.name}",
                    f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, clean=False)
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["indexed"], s["already_present"]) == (0, DNS_PACKETS), res.summary_line
    assert es_node.count(ix.prefix) == DNS_PACKETS


# ----------------------------------------------------------------------------- 7

def _conflicting_index(node, prefix, dns_pcap, tshark_fields_cached):
    """Make <prefix>-<day of test_dns.pcap> with layers.application.dns.a (an
    IPv4 address) mapped as long; return (day, index)."""
    dates = packet_dates(tshark_fields_cached, dns_pcap)
    assert len(dates) == 1, dates
    day = next(iter(dates))
    index = f"{prefix}-{day}"
    node.clean(prefix)
    node.request("PUT", f"/{index}", {
        "settings": {"number_of_replicas": 0},
        "mappings": {"properties": {"layers": {"properties": {"application": {"properties": {
            "dns": {"properties": {"a": {"type": "long"}}}}}}}}}})
    return day, index

def test_rejected_documents_go_to_dead_letter_file(any_node, dns_pcap, index_run, prefix,
                                                   tshark_fields_cached, tmp_path):
    """A daily index made beforehand maps layers.application.dns.a (an address) as
    long: espcap's mapping request for it fails (it warns), and the node rejects
    for good (400) every document with a dns.a; the others land. On every engine: the
    mapping clash and the item errors are each engine's own answers."""
    es_node = any_node
    day, index = _conflicting_index(es_node, prefix, dns_pcap, tshark_fields_cached)
    want_frames = sorted(int(r["frame.number"][0]) for r in
                         tshark_fields_cached(dns_pcap, ["frame.number"], display_filter="dns.a"))
    assert 0 < len(want_frames) < DNS_PACKETS

    dead = tmp_path / "dead.ndjson"
    res = index_run(es_node, prefix, f"--file={dns_pcap}", f"--rejected={dead}",
                    cwd=tmp_path, clean=False)
    assert res.rc == 1, "exit status must be 1 when documents were rejected\n" + res.describe()
    s = summary_ints(res)
    n = len(want_frames)
    assert (s["documents"], s["rejected"], s["indexed"]) == (DNS_PACKETS, n, DNS_PACKETS - n), \
        res.summary_line
    assert es_node.count(prefix) == DNS_PACKETS - n
    assert not (tmp_path / "espcap-rejected.ndjson").exists(), "--rejected was not obeyed"

    assert dead.exists(), "no dead-letter file"
    lines = dead.read_bytes().split(b"\n")
    assert lines[-1] == b"", "dead-letter file does not end with a newline"
    recs = [json.loads(l) for l in lines[:-1]]
    assert len(recs) == n, f"{len(recs)} dead letters, {n} expected"
    frames, ids = [], []
    for r in recs:
        assert set(r) >= {"action", "status", "error", "document"}, r.keys()
        act = r["action"]["create"]
        assert act["_index"] == index and act["_id"], r["action"]
        assert r["status"] == 400, r["status"]
        assert isinstance(r["error"], dict) and r["error"].get("type"), r["error"]
        doc = r["document"]
        assert "dns.a" in doc["layers"]["application"], doc["layers"]["application"].keys()
        assert doc["protocol"] == "dns" and doc["@timestamp"].startswith(day)
        frames.append(doc["frame_number"])
        ids.append(act["_id"])
    assert sorted(frames) == want_frames
    assert len(set(ids)) == n
    # none of them is in the index; the others are
    _, ans = es_node.request("POST", f"/{index}/_mget", {"ids": ids})
    assert not [d["_id"] for d in ans["docs"] if d.get("found")]
    _, ans = es_node.request("POST", f"/{index}/_search", {
        "size": 0, "aggs": {"f": {"terms": {"field": "frame_number", "size": 1000}}}})
    landed = sorted(b["key"] for b in ans["aggregations"]["f"]["buckets"])
    assert landed == sorted(set(range(1, DNS_PACKETS + 1)) - set(want_frames))


def test_conflicting_field_spoils_only_itself(any_node, dns_pcap, index_run, prefix,
                                              tshark_fields_cached, field_types, tmp_path):
    """With one field of an existing daily index mapped differently, the OTHER layer
    fields must still be mapped explicitly, with their own types, before documents
    carrying them are indexed (not left to dynamic mapping: text, float...)."""
    es_node = any_node
    day, index = _conflicting_index(es_node, prefix, dns_pcap, tshark_fields_cached)
    res = index_run(es_node, prefix, f"--file={dns_pcap}", f"--rejected={tmp_path}/dead.ndjson",
                    cwd=tmp_path, clean=False)
    assert res.rc == 1, res.describe()
    maps = es_node.mapping(prefix)
    m = maps[index]
    assert _leaf(m, "layers.application.dns.a")["type"] == "long"   # the foreign one stays
    for path, want in [("layers.network.ip.src", "ip"), ("layers.network.ip.dst", "ip"),
                       ("layers.transport.udp.srcport", "long"),
                       ("layers.application.dns.flags.response", "boolean")]:
        got = _leaf(m, path)
        assert got.get("type") == want, f"{path} is mapped {got}, not {want}"
    bad = [b for b in mapping_problems(maps, field_types, es_node.flavor != "es7")
           if "dns.a " not in b]
    assert not bad, f"{len(bad)} fields left to dynamic mapping or mistyped:\n" + \
        "\n".join(bad[:30])


def test_unwritable_dead_letter_file(es_node, dns_pcap, index_run, prefix,
                                     tshark_fields_cached, tmp_path):
    """Rejected documents that cannot be written to the dead-letter file must not
    vanish silently: a failure exit status, a message that says what happened,
    and a summary that still adds up."""
    _conflicting_index(es_node, prefix, dns_pcap, tshark_fields_cached)
    n = len(tshark_fields_cached(dns_pcap, ["frame.number"], display_filter="dns.a"))
    res = index_run(es_node, prefix, f"--file={dns_pcap}",
                    f"--rejected={tmp_path}/no/such/dir/dead.ndjson", cwd=tmp_path, clean=False)
    assert res.rc in (1, 2, 3), res.describe()
    problems = []
    if [l for l in res.stderr_lines if l.strip() in ("espcap:", "espcap: error:")]:
        problems.append("a message line without a message ('espcap: ')")
    if "dead.ndjson" not in res.stderr:
        problems.append("no message names the dead-letter file")
    if res.summary is not None:
        s = summary_ints(res)
        lost = s.get("dropped", 0)
        if s["documents"] != s["indexed"] + s["already_present"] + s["rejected"] + lost:
            problems.append(f"{n} documents were rejected, but the summary does not "
                            f"account for them: {res.summary_line}")
    assert not problems, "\n".join(problems) + "\n" + res.describe()


# ----------------------------------------------------------------------------- 9

def test_compress_sends_gzip_bodies(any_node, dns_pcap, run_espcap, prefix, tmp_path):
    es_node = any_node
    es_node.clean(prefix)
    with RecordingProxy(es_node) as proxy:
        res = run_espcap(f"--node={proxy.hostport}", f"--index-prefix={prefix}",
                         f"--file={dns_pcap}", "--compress",
                         f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path)
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["indexed"], s["rejected"]) == (DNS_PACKETS, 0), res.summary_line
    assert es_node.count(prefix) == DNS_PACKETS   # the same as without --compress

    reqs = proxy.requests
    assert reqs and reqs[0][0] == "GET" and reqs[0][1].split("?")[0] == "/", \
        f"first request is not GET /: {reqs[:1]}"
    bulks = [i for i, r in enumerate(reqs) if r[1].split("?")[0].endswith("/_bulk")]
    tmpl = [i for i, r in enumerate(reqs)
            if r[0] in ("PUT", "POST") and r[1].split("?")[0] == f"/_index_template/espcap-{prefix}"]
    assert bulks, "no _bulk request went through the proxy"
    assert tmpl and tmpl[0] < bulks[0], "the index template was not installed before _bulk"
    sent = 0
    for i in bulks:
        _, path, headers, body = reqs[i]
        assert headers.get("content-encoding", "").lower() == "gzip", headers
        assert body[:2] == b"\x1f\x8b", f"_bulk body is not gzip: {body[:20]!r}"
        text = RecordingProxy.body_text(headers, body)
        sent += sum(1 for l in text.splitlines() if l.startswith('{"create"'))
    assert sent >= DNS_PACKETS


def test_credentials_sent_not_shown(es_node, dns_pcap, run_espcap, prefix, tmp_path):
    """Basic auth from ESPCAP_USER/ESPCAP_PASSWORD and --user, an API key from
    ESPCAP_API_KEY: sent in Authorization, never printed. (The test node has no
    security plugin and ignores them.)"""
    import base64
    cases = [
        ({"ESPCAP_USER": "alice", "ESPCAP_PASSWORD": "s3cr3t-pw"}, [],
         "Basic " + base64.b64encode(b"alice:s3cr3t-pw").decode(), "s3cr3t-pw"),
        ({}, ["--user=bob:an0ther-pw"],
         "Basic " + base64.b64encode(b"bob:an0ther-pw").decode(), "an0ther-pw"),
        ({"ESPCAP_API_KEY": "a2V5LXNlY3JldA=="}, [], "ApiKey a2V5LXNlY3JldA==",
         "a2V5LXNlY3JldA=="),
    ]
    for k, (env, args, want, secret) in enumerate(cases):
        p = f"{prefix}-{k}"
        es_node.clean(p)
        with RecordingProxy(es_node) as proxy:
            res = run_espcap(f"--node={proxy.hostport}", f"--index-prefix={p}",
                             f"--file={dns_pcap}", *args,
                             f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, env=env)
        assert res.rc == 0, res.describe()
        auth = {r[2].get("authorization") for r in proxy.requests}
        assert auth == {want}, f"case {k}: Authorization headers {auth}, want {want!r}"
        assert secret not in res.stderr, f"case {k}: the secret is printed:\n{res.stderr}"
