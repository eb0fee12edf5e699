# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap's field values against tshark's, packet by packet, on the shared captures."""

from decimal import Decimal

import pytest

from helpers import docs as D

# field -> how to get it from a document: None = collect from layers
FIELDS = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "tcp.srcport", "tcp.dstport",
          "udp.dstport", "dns.qry.name", "http.request.uri", "http.response.code",
          "frame.protocols", "frame.len", "frame.cap_len", "frame.time_epoch"]
TOP = {"frame.number": "frame_number", "frame.protocols": "protocols",
       "frame.len": "length", "frame.cap_len": "caplen"}

CAPTURES = {"http": ("http_pcap", 1268), "dns": ("dns_pcap", 108)}


def _usec(v):
    """Seconds (str/float/Decimal) -> integer microseconds, exactly."""
    d = Decimal(str(v))
    return int((d * 1000000).to_integral_value(rounding="ROUND_HALF_EVEN"))


@pytest.fixture(scope="module", params=sorted(CAPTURES))
def pair(request, espcap_cached, tshark_fields_cached):
    fixture, expected = CAPTURES[request.param]
    path = request.getfixturevalue(fixture)
    # --max-bytes=0: no value is cut, so long URIs compare whole
    res = espcap_cached(f"--file={path}", "--max-bytes=0")
    rows = tshark_fields_cached(path, FIELDS)
    return request.param, path, expected, res, rows


def test_document_count(pair):
    name, path, expected, res, rows = pair
    assert res.rc == 0, res.describe()
    assert len(rows) == expected, f"tshark read {len(rows)} packets from {path}, not {expected}"
    assert len(res.lines) == expected, \
        f"{path}: espcap wrote {len(res.lines)} documents, expected {expected}"
    s = res.summary
    assert s and int(s["documents"]) == expected and int(s["packets"]) == expected, \
        res.summary_line


def _mismatches(res, rows, fields, compare):
    docs = res.docs_decimal
    bad = []
    for i, (doc, row) in enumerate(zip(docs, rows)):
        for f in fields:
            ok, want, got = compare(f, doc, row)
            if not ok:
                bad.append((i + 1, f, want, got))
    return bad


def _report(name, bad, total, limit=12):
    pkts = sorted({b[0] for b in bad})
    lines = [f"{name}: {len(bad)} mismatching values in {len(pkts)} of {total} packets "
             f"(first packets: {pkts[:10]})"]
    for frame, f, want, got in bad[:limit]:
        lines.append(f"  packet {frame}: {f}: tshark {want!r} != espcap {got!r}")
    return "\n".join(lines)


LAYER_FIELDS = [f for f in FIELDS if f not in TOP and f != "frame.time_epoch"]


def test_layer_fields_match_tshark(pair):
    name, path, expected, res, rows = pair
    assert len(res.lines) == len(rows), "document count differs (see test_document_count)"

    def compare(f, doc, row):
        want = sorted(D.norm(v) for v in row[f])
        got = sorted(D.norm(v) for v in D.field_values(doc.get("layers", {}), f))
        return want == got, want, got

    bad = _mismatches(res, rows, LAYER_FIELDS, compare)
    assert not bad, _report(name, bad, len(rows))


def test_top_level_fields_match_tshark(pair):
    name, path, expected, res, rows = pair
    assert len(res.lines) == len(rows), "document count differs (see test_document_count)"

    def compare(f, doc, row):
        want = row[f][0] if row[f] else None
        if f == "frame.time_epoch":
            got = doc.get("sniff_timestamp")
            try:
                return _usec(want) == _usec(got), want, got
            except Exception:
                return False, want, got
        got = doc.get(TOP[f])
        if f == "frame.protocols":
            return want == got, want, got
        return D.norm(want) == D.norm(got) and isinstance(got, int), want, got

    bad = _mismatches(res, rows, list(TOP) + ["frame.time_epoch"], compare)
    assert not bad, _report(name, bad, len(rows))
