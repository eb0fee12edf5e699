# SPDX-License-Identifier: GPL-2.0-or-later
"""The shape of espcap's documents (issue 2's contract), on the generated sample
and on the shared captures."""

import datetime as dt
import json
import os
import re
import subprocess
from decimal import Decimal

import pytest

from helpers import docs as D
from helpers import espcap as E

TS_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6}|\d{9})Z$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
SNIFF_RAW_RE = re.compile(rb'"sniff_timestamp":\s*(-?\d+\.\d{6})\s*[,}]')
HEX_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})*$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
ISO_RE = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

INT_TYPES = {f"FT_{s}INT{n}" for s in ("U", "") for n in (8, 16, 24, 32, 40, 48, 56, 64)} | {"FT_FRAMENUM"}
STRING_TYPES = {"FT_STRING", "FT_STRINGZ", "FT_UINT_STRING", "FT_STRINGZPAD", "FT_STRINGZTRUNC"}
BYTES_TYPES = {"FT_BYTES", "FT_UINT_BYTES"}


def field_name(key):
    return key[:-len("._value")] if key.endswith("._value") else key


def layer_items(doc):
    """Yield (layer_name, layer_object) for every layer object of DOC."""
    for name, body in doc.get("layers", {}).items():
        for obj in (body if isinstance(body, list) else [body]):
            yield name, obj


def field_items(doc):
    """Yield (layer, key, value) for every field key of every layer (lists flattened)."""
    def walk(layer, o):
        for k, v in o.items():
            if k == "envelope":
                continue
            vals = v if isinstance(v, list) else [v]
            for x in vals:
                if isinstance(x, dict):
                    walk(layer, x)
                else:
                    yield layer, k, x
    for name, obj in layer_items(doc):
        if isinstance(obj, dict):
            yield from walk(name, obj)


# ---- runs ------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_run(espcap_cached, sample_pcap):
    res = espcap_cached(f"--file={sample_pcap}")
    assert res.rc == 0, res.describe()
    assert res.lines, "no documents for the sample"
    return res


@pytest.fixture(scope="module", params=["sample", "http", "dns"])
def any_run(request, espcap_cached, repo_root):
    path = request.getfixturevalue({"sample": "sample_pcap", "http": "http_pcap",
                                    "dns": "dns_pcap"}[request.param])
    res = espcap_cached(f"--file={path}")
    assert res.rc == 0, res.describe()
    return path, res


@pytest.fixture(scope="module")
def all_runs(request, espcap_cached, repo_root):
    """Default-option runs over every capture available (skips none silently)."""
    runs = {}
    for name, fx in (("sample", "sample_pcap"), ("http", "http_pcap"), ("dns", "dns_pcap")):
        try:
            path = request.getfixturevalue(fx)
        except pytest.skip.Exception:
            continue
        runs[name] = espcap_cached(f"--file={path}")
    if len(runs) < 3:
        pytest.skip(f"only {sorted(runs)} available; need sample, test_http and test_dns")
    return runs


def tshark_frames(tshark_fields_cached, path, filt, names):
    rows = tshark_fields_cached(path, ["frame.number"] + names, display_filter=filt)
    return [(int(r["frame.number"][0]), r) for r in rows]


# ---- top level -------------------------------------------------------------

def test_top_level_keys_and_types(any_run):
    path, res = any_run
    docs = res.docs_decimal
    mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.timezone.utc)
    want_fdate = mtime.strftime("%Y-%m-%d %H:%M:%S")
    bad = []
    for i, doc in enumerate(docs, 1):
        def err(msg):
            bad.append(f"  document {i}: {msg}")
        for k, t in D.TOP_LEVEL_TYPES.items():
            if k not in doc:
                err(f"missing {k!r}")
            elif isinstance(doc[k], bool) or not isinstance(doc[k], t):
                err(f"{k!r} has JSON type {type(doc[k]).__name__}: {doc[k]!r}")
        if bad:
            break
        if doc["capture"] != "pcap_file":
            err(f"capture={doc['capture']!r}")
        if doc["file_name"] != str(path):
            err(f"file_name={doc['file_name']!r}, expected {str(path)!r}")
        if doc["file_date_utc"] != want_fdate:
            err(f"file_date_utc={doc['file_date_utc']!r}, file mtime is {want_fdate}")
        if doc["frame_number"] != i:
            err(f"frame_number={doc['frame_number']}")
        if not 0 <= doc["caplen"] <= doc["length"] or doc["length"] == 0:
            err(f"length={doc['length']} caplen={doc['caplen']}")
        m = TS_RE.match(doc["@timestamp"])
        if not m:
            err(f"@timestamp {doc['@timestamp']!r} is not UTC ISO 8601 with 6 or 9 digits")
        else:
            ts = Decimal(str(doc["sniff_timestamp"]))
            secs = int(ts // 1)
            t = dt.datetime.fromtimestamp(secs, dt.timezone.utc)
            frac = m.group(7)
            want_frac = str(int((ts - secs) * 1000000)).rjust(6, "0")
            if doc["@timestamp"][:19] != t.strftime("%Y-%m-%dT%H:%M:%S") or frac[:6] != want_frac:
                err(f"@timestamp {doc['@timestamp']} != sniff_timestamp {ts}")
            if doc["sniff_date_utc"] != t.strftime("%Y-%m-%d %H:%M:%S"):
                err(f"sniff_date_utc {doc['sniff_date_utc']!r} != sniff_timestamp {ts}")
            if doc["sniff_date_utc"][:10] != doc["@timestamp"][:10]:
                err("index date (sniff_date_utc) differs from @timestamp's date")
        if not DATE_RE.match(doc["sniff_date_utc"]):
            err(f"sniff_date_utc {doc['sniff_date_utc']!r}")
        chain = doc["protocols"].split(":")
        if not doc["protocols"] or "" in chain:
            err(f"protocols={doc['protocols']!r}")
        if doc["protocol"] not in chain:
            err(f"protocol {doc['protocol']!r} not in protocols {doc['protocols']!r}")
        if len(bad) > 15:
            break
    assert not bad, f"{path}:\n" + "\n".join(bad[:15])


def test_sniff_timestamp_notation(any_run):
    """sniff_timestamp is a JSON number written with exactly 6 decimals."""
    path, res = any_run
    bad = [i for i, l in enumerate(res.lines, 1) if not SNIFF_RAW_RE.search(l)]
    assert not bad, f"{path}: documents {bad[:10]} lack 'sniff_timestamp' with 6 decimals: " \
                    f"{res.lines[bad[0] - 1][:300]!r}"


def test_protocol_is_highest_listed(any_run, protocols_list):
    path, res = any_run
    listed = set(protocols_list)
    bad = []
    for i, doc in enumerate(res.docs, 1):
        chain = [p for p in doc["protocols"].split(":") if p in listed]
        if chain and doc["protocol"] != chain[-1]:
            bad.append(f"  document {i}: protocols={doc['protocols']} protocol={doc['protocol']}"
                       f" (expected {chain[-1]})")
    assert not bad, f"{path}:\n" + "\n".join(bad[:10])


# ---- layers ----------------------------------------------------------------

def test_layers_structure(any_run):
    path, res = any_run
    bad = []
    for i, doc in enumerate(res.docs, 1):
        layers = doc["layers"]
        chain = doc["protocols"].split(":")
        frame = layers.get("frame")
        if not isinstance(frame, dict) or "envelope" in frame:
            bad.append(f"  document {i}: no layers.frame object (without an envelope)")
        elif any(k in frame for k in ("frame.number", "frame.len", "frame.cap_len",
                                      "frame.protocols", "frame.time", "frame.time_epoch")):
            bad.append(f"  document {i}: layers.frame repeats a top-level field: {list(frame)}")
        if len(chain) > 1 and "link" not in layers:
            bad.append(f"  document {i}: no link layer (protocols {doc['protocols']})")
        for name, body in layers.items():
            if name in D.ROLE_LAYERS or name == "frame":
                if not isinstance(body, dict):
                    bad.append(f"  document {i}: layers.{name} is {type(body).__name__}")
                continue
            items = body if isinstance(body, list) else [body]
            if isinstance(body, list) and len(body) < 2:
                bad.append(f"  document {i}: layers.{name} is an array of {len(body)}")
            for obj in items:
                if not isinstance(obj, dict):
                    bad.append(f"  document {i}: layers.{name} holds a {type(obj).__name__}")
                elif not isinstance(obj.get("envelope"), str) or not obj["envelope"]:
                    bad.append(f"  document {i}: layers.{name} has no envelope")
                elif obj["envelope"] not in chain and obj["envelope"] not in layers:
                    bad.append(f"  document {i}: layers.{name}.envelope={obj['envelope']!r}"
                               f" is not a protocol of {doc['protocols']}")
        if "application" in layers:
            app = layers["application"]
            p = doc["protocol"]
            # an empty application layer is allowed (e.g. a TLS segment whose
            # record is still being reassembled has no tls fields yet)
            if app and not any(field_name(k) == p or k.startswith(p + ".") for k in app):
                bad.append(f"  document {i}: layers.application has no {p} field: {list(app)[:8]}")
            if "transport" not in layers:
                bad.append(f"  document {i}: application layer without a transport layer")
        if len(bad) > 15:
            break
    assert not bad, f"{path}:\n" + "\n".join(bad[:15])


def test_value_types_follow_field_types(any_run, field_types):
    """Values have the JSON types the contract gives for their Wireshark type."""
    path, res = any_run
    bad = []
    unknown = set()
    for i, doc in enumerate(res.docs, 1):
        for layer, key, v in field_items(doc):
            name = field_name(key)
            ft = field_types.get(name)
            if ft is None:
                unknown.add(key)
                continue
            cut = isinstance(v, str) and v.endswith("...")
            ok = True
            if ft in INT_TYPES:
                ok = isinstance(v, int) and not isinstance(v, bool)
            elif ft == "FT_BOOLEAN":
                ok = isinstance(v, bool)
            elif ft in ("FT_FLOAT", "FT_DOUBLE", "FT_RELATIVE_TIME"):
                ok = isinstance(v, (int, float)) and not isinstance(v, bool)
            elif ft == "FT_NONE":
                ok = v is True
            elif ft == "FT_PROTOCOL":
                # true when empty; a protocol item nested in a layer (e.g. the TCP
                # options, registered as protocols) shows its bytes, as tshark does
                ok = v is True or (isinstance(v, str) and HEX_RE.match(v.rstrip(".").rstrip(":")) is not None)
            elif ft == "FT_IPv4":
                ok = isinstance(v, str) and bool(IPV4_RE.match(v))
            elif ft == "FT_IPv6":
                ok = isinstance(v, str) and ":" in v
            elif ft == "FT_ETHER":
                ok = isinstance(v, str) and bool(MAC_RE.match(v))
            elif ft == "FT_ABSOLUTE_TIME":
                ok = isinstance(v, str) and bool(ISO_RE.match(v))
            elif ft in BYTES_TYPES:
                ok = isinstance(v, str) and (v == "" or HEX_RE.match(v.rstrip(".").rstrip(":")) is not None)
            elif ft in STRING_TYPES:
                ok = isinstance(v, str)
            if not ok and not (cut and ft in BYTES_TYPES | STRING_TYPES):
                bad.append(f"  document {i} layers.{layer} {key!r} ({ft}): {v!r}")
    msg = f"{path}: {len(bad)} values of the wrong JSON type:\n" + "\n".join(bad[:20])
    assert not bad, msg
    assert not unknown, f"{path}: keys that are not Wireshark field names: {sorted(unknown)[:20]}"


def test_prefix_fields_use_value_suffix(any_run, field_types):
    """A field whose name is a dotted prefix of another registered field is NAME._value."""
    path, res = any_run
    prefixes = set()
    for name in field_types:
        parts = name.split(".")
        for n in range(1, len(parts)):
            prefixes.add(".".join(parts[:n]))
    bad = set()
    for doc in res.docs:
        for layer, key, v in field_items(doc):
            if key in prefixes:
                bad.add(key)
            if key.endswith("._value") and field_name(key) not in prefixes:
                bad.add(key)
    assert not bad, f"{path}: keys that should (not) be written NAME._value: {sorted(bad)[:20]}"


# ---- particular packets of the sample ---------------------------------------

def test_http_request_packet(sample_run, sample_pcap, tshark_fields_cached):
    frames = tshark_frames(tshark_fields_cached, sample_pcap, "http.request",
                           ["ip.src", "ipv6.src", "tcp.dstport", "http.request.method"])
    assert frames, "the sample has no HTTP request (capgen)"
    seen_get80 = False
    for n, row in frames:
        doc = sample_run.docs[n - 1]
        L = doc["layers"]
        where = f"sample packet {n}"
        assert doc["protocol"] == "http", f"{where}: protocol={doc['protocol']!r}"
        assert any(k.startswith("eth.") for k in L.get("link", {})), \
            f"{where}: layers.link has no eth fields: {L.get('link')}"
        if row["ip.src"]:
            got = L.get("network", {}).get("ip.src")
            assert got == row["ip.src"][0], f"{where}: layers.network ip.src={got!r}"
        else:
            got = L.get("network", {}).get("ipv6.src")
            assert got == row["ipv6.src"][0], f"{where}: layers.network ipv6.src={got!r}"
        port = L.get("transport", {}).get("tcp.dstport")
        assert isinstance(port, int) and not isinstance(port, bool), \
            f"{where}: layers.transport tcp.dstport={port!r} is not a number"
        assert port == int(row["tcp.dstport"][0])
        method = L.get("application", {}).get("http.request.method")
        assert method == row["http.request.method"][0], f"{where}: http.request.method={method!r}"
        seen_get80 |= method == "GET" and port == 80
    assert seen_get80, "the sample has no GET request to port 80"


def test_dns_answer_two_addresses(sample_run, sample_pcap, tshark_fields_cached):
    frames = tshark_frames(tshark_fields_cached, sample_pcap,
                           "dns.flags.response == 1 && dns.a", ["dns.a"])
    two = [(n, r) for n, r in frames if len(r["dns.a"]) == 2]
    assert two, f"the sample has no DNS answer with two A records (capgen): {frames}"
    for n, row in frames:
        doc = sample_run.docs[n - 1]
        got = doc["layers"].get("application", {}).get("dns.a")
        want = row["dns.a"] if len(row["dns.a"]) > 1 else row["dns.a"][0]
        assert got == want, f"sample packet {n}: layers.application dns.a={got!r}, tshark {want!r}"
        assert doc["protocol"] == "dns"


def test_vlan_layer(sample_run, sample_pcap, tshark_fields_cached):
    frames = tshark_frames(tshark_fields_cached, sample_pcap, "vlan", ["vlan.id"])
    assert frames, "the sample has no VLAN-tagged packet (capgen)"
    for n, row in frames:
        doc = sample_run.docs[n - 1]
        vlan = doc["layers"].get("vlan")
        assert vlan is not None, f"sample packet {n}: no layers.vlan: {list(doc['layers'])}"
        first = vlan[0] if isinstance(vlan, list) else vlan
        assert first.get("envelope") == "eth", f"sample packet {n}: layers.vlan={first}"
        assert D.field_values(vlan, "vlan.id") == [int(x) for x in row["vlan.id"]]


def test_arp_packet(sample_run, sample_pcap, tshark_fields_cached):
    frames = tshark_frames(tshark_fields_cached, sample_pcap, "arp", ["arp.src.proto_ipv4"])
    assert frames, "the sample has no ARP packet (capgen)"
    for n, row in frames:
        doc = sample_run.docs[n - 1]
        assert doc["protocol"] == "arp", f"sample packet {n}: protocol={doc['protocol']!r}"
        net = doc["layers"].get("network", {})
        assert net.get("arp.src.proto_ipv4") == row["arp.src.proto_ipv4"][0], \
            f"sample packet {n}: layers.network={net}"


# ---- properties over every document ------------------------------------------

def test_no_empty_keys(all_runs):
    bad = []
    for name, res in all_runs.items():
        for i, doc in enumerate(res.docs, 1):
            for path, key in D.walk_keys(doc):
                if key == "" or "" in key.split(".") or key.strip() != key:
                    bad.append(f"  {name} document {i}: {path}: {key!r}")
    assert not bad, f"{len(bad)} empty keys or key components:\n" + "\n".join(bad[:15])


def test_no_duplicate_keys(all_runs):
    bad = []
    for name, res in all_runs.items():
        for i, doc in enumerate(res.docs, 1):
            bad.extend(f"  {name} document {i}: {d}" for d in E.find_duplicates(doc))
    assert not bad, f"{len(bad)} repeated keys within one object:\n" + "\n".join(bad[:15])


def _mapping(all_runs):
    m = D.MappingChecker()
    for name, res in all_runs.items():
        for doc in res.docs:
            m.add(doc, f"{name}#{doc.get('frame_number')}")
    return m


def test_no_mapping_conflicts(all_runs):
    """Flattened like Elasticsearch does, no path is both an object and a value."""
    c = _mapping(all_runs).conflicts()
    assert not c, f"{len(c)} object/value conflicts:\n" + D.format_conflicts(c)


def test_no_type_conflicts(all_runs):
    """A path never holds values of two JSON types (numbers in one document,
    strings in another would break an Elasticsearch mapping)."""
    c = _mapping(all_runs).type_conflicts()
    assert not c, f"{len(c)} type conflicts:\n" + D.format_conflicts(c)


def test_valid_utf8(all_runs):
    for name, res in all_runs.items():
        for i, line in enumerate(res.lines, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                pytest.fail(f"{name}: stdout line {i} is not UTF-8: {e}: "
                            f"{line[max(0, e.start - 60):e.start + 20]!r}")


# ---- --max-bytes ---------------------------------------------------------------

def _cut_ok(full, cut, n, ft):
    """Is CUT a legal cut of FULL at N bytes for a field of type FT?"""
    if not cut.endswith("..."):
        return False
    head = cut[:-3]
    if ft in BYTES_TYPES:
        head = head.rstrip(":")
        pairs = len(head.split(":")) if head else 0
        return full.startswith(head) and pairs <= n
    return full.startswith(head) and len(head.encode()) <= n


def _too_long(v, n, ft):
    if ft in BYTES_TYPES:
        return len(v.split(":")) > n if v else False
    return len(v.encode()) > n


def check_max_bytes(full_res, cut_res, n, field_types):
    """Compare a run with no/larger limit against one with --max-bytes=N."""
    assert len(full_res.lines) == len(cut_res.lines)
    problems, cut_kinds = [], set()
    for i, (a, b) in enumerate(zip(full_res.docs, cut_res.docs), 1):
        ta = {k: v for k, v in a.items() if k != "layers"}
        tb = {k: v for k, v in b.items() if k != "layers"}
        if ta != tb:
            problems.append(f"  document {i}: top-level keys changed")
        fa = list(field_items(a))
        fb = list(field_items(b))
        if [(l, k) for l, k, _ in fa] != [(l, k) for l, k, _ in fb]:
            problems.append(f"  document {i}: different keys")
            continue
        for (layer, key, va), (_, _, vb) in zip(fa, fb):
            ft = field_types.get(field_name(key))
            if ft == "FT_PROTOCOL" and isinstance(va, str) and HEX_RE.match(va):
                ft = "FT_BYTES"  # a protocol item showing its bytes: cut like bytes
            if ft in BYTES_TYPES and va == vb and isinstance(va, str) and MAC_RE.match(va):
                # `tshark -G fields` lists one type per name, but a dissector may
                # register the same name twice (icmpv6.opt.linkaddr: FT_BYTES and
                # FT_ETHER); an address is not cut
                continue
            cuttable = ft in BYTES_TYPES | STRING_TYPES
            if cuttable and isinstance(va, str) and _too_long(va, n, ft):
                if not _cut_ok(va, vb, n, ft):
                    if va.isascii() or vb != va:
                        problems.append(f"  document {i} {key} ({ft}): {va[:60]!r}... became {vb!r}")
                else:
                    cut_kinds.add("bytes" if ft in BYTES_TYPES else "string")
            elif va != vb:
                problems.append(f"  document {i} {key} ({ft}): {va!r} changed to {vb!r}")
    return problems, cut_kinds


def test_max_bytes_8(sample_run, espcap_cached, sample_pcap, field_types):
    cut = espcap_cached(f"--file={sample_pcap}", "--max-bytes=8")
    assert cut.rc == 0, cut.describe()
    full = espcap_cached(f"--file={sample_pcap}", "--max-bytes=0")
    problems, kinds = check_max_bytes(full, cut, 8, field_types)
    assert not problems, f"--max-bytes=8 on the sample:\n" + "\n".join(problems[:20])
    assert "bytes" in kinds, "no bytes field of the sample was long enough to be cut"
    for i, line in enumerate(cut.lines, 1):
        line.decode("utf-8")  # cutting must not split a UTF-8 sequence


def test_max_bytes_default_256(espcap_cached, http_pcap, field_types):
    """Default limit 256 on test_http.pcap (large bodies); 0 means no limit."""
    full = espcap_cached(f"--file={http_pcap}", "--max-bytes=0")
    dflt = espcap_cached(f"--file={http_pcap}")
    assert full.rc == 0 and dflt.rc == 0, dflt.describe()
    problems, kinds = check_max_bytes(full, dflt, 256, field_types)
    assert not problems, "default --max-bytes (256) on test_http.pcap:\n" + "\n".join(problems[:20])
    assert kinds, "nothing was cut at the default limit of 256 bytes"
    assert len(full.stdout) > len(dflt.stdout)


def test_max_bytes_never_splits_utf8(espcap_cached, sample_pcap, field_types):
    """A cut that falls inside a multi-byte UTF-8 character keeps the output valid."""
    full = espcap_cached(f"--file={sample_pcap}", "--max-bytes=0")
    limit = None
    for doc in full.docs:
        for layer, key, v in field_items(doc):
            if field_types.get(field_name(key)) in STRING_TYPES and isinstance(v, str):
                b = v.encode()
                k = next((i for i, ch in enumerate(b) if ch >= 0xC0 and i > 0), None)
                if k is not None:
                    limit = k + 1  # one byte into the character
                    break
        if limit:
            break
    if limit is None:
        pytest.skip("the sample has no string value with a non-ASCII character")
    cut = espcap_cached(f"--file={sample_pcap}", f"--max-bytes={limit}")
    assert cut.rc == 0, cut.describe()
    for i, line in enumerate(cut.lines, 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            pytest.fail(f"--max-bytes={limit}: line {i} is not UTF-8: {e}")
    problems, _ = check_max_bytes(full, cut, limit, field_types)
    assert not problems, f"--max-bytes={limit} on the sample:\n" + "\n".join(problems[:20])


# ---- cases Wireshark fidelity depends on (issue 7) ---------------------------

def test_snap_length_cut_is_short_not_malformed(http_pcap, tmp_path, run_espcap):
    """A capture cut with a snap length: length is the wire length, the packets are cut
    (_ws.short), not malformed, as tshark has them."""
    cut = tmp_path / "cut.pcapng"
    subprocess.run(["editcap", "-s", "80", str(http_pcap), str(cut)], check=True, timeout=60)
    res = run_espcap(f"--file={cut}")
    assert res.rc == 0, res.describe()
    docs = res.docs
    longer = [d for d in docs if d["length"] > d["caplen"]]
    assert len(longer) > 500 and all(d["caplen"] <= 80 for d in docs), \
        f"{len(longer)} of {len(docs)} documents have length > caplen"
    malformed = [d["frame_number"] for d in docs if "_ws.malformed" in json.dumps(d)]
    short = [d["frame_number"] for d in docs if "_ws.short" in json.dumps(d)]
    assert not malformed, f"cut packets taken for malformed: frames {malformed[:10]}"
    assert len(short) == 540, f"{len(short)} packets marked _ws.short, tshark marks 540"


def test_pseudo_header_goes_to_link(corpus_dir, run_espcap):
    """Juniper link types: the pseudo-header before the first protocol is in layers.link,
    before the Ethernet fields, never lost."""
    res = run_espcap(f"--file={corpus_dir / 'bgp-aigp.pcap'}")
    assert res.rc == 0, res.describe()
    for doc in res.docs:
        link = doc["layers"]["link"]
        keys = list(link)
        assert "juniper.magic-number._value" in keys and "juniper.ext.ifd" in keys, keys[:12]
        assert keys.index("juniper.ext.ifd") < keys.index("eth.src._value"), keys[:20]
        assert "eth" not in doc["layers"], "the Ethernet layer is not the link layer"


def test_packet_comments_are_a_layer_of_their_own(dns_pcap, tmp_path, run_espcap):
    cmt = tmp_path / "comments.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", "-a", "2:an analyst's note", str(dns_pcap),
                    str(cmt)], check=True, timeout=60)
    res = run_espcap(f"--file={cmt}")
    assert res.rc == 0, res.describe()
    doc = res.docs[1]
    assert doc["layers"]["pkt_comment"]["frame.comment._value"] == "an analyst's note"
    assert doc["layers"]["pkt_comment"]["envelope"] == "frame"
    assert "eth.src._value" in doc["layers"]["link"], doc["layers"].keys()
    assert "pkt_comment" not in res.docs[0]["layers"]


def test_out_of_range_time_fraction_carries(tmp_path, run_espcap):
    """A record whose nanoseconds are 1e9 or more: the extra second is carried, as
    Wireshark's time arithmetic does."""
    import struct
    pkt = bytes.fromhex("0200000000010200000000020800450000200001000040110000c0000201c0000202") \
        + struct.pack(">HHHH", 1234, 53, 12, 0) + b"abcd"
    path = tmp_path / "ts.pcap"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
        for sec, ns in ((1709294400, 1500000000), (1709337599, 2000000001)):
            f.write(struct.pack("<IIII", sec, ns, len(pkt), len(pkt)) + pkt)
    res = run_espcap(f"--file={path}")
    assert res.rc == 0, res.describe()
    a, b = res.docs_decimal
    assert a["@timestamp"] == "2024-03-01T12:00:01.500000000Z", a["@timestamp"]
    assert a["sniff_timestamp"] == Decimal("1709294401.500000") and \
        a["sniff_date_utc"] == "2024-03-01 12:00:01", a
    # 23:59:59 + 2.000000001 s is the next day: the next day's index
    assert b["@timestamp"] == "2024-03-02T00:00:01.000000001Z" and \
        b["sniff_date_utc"] == "2024-03-02 00:00:01", b
    assert "frame.time_invalid" in a["layers"]["frame"], a["layers"]["frame"]
