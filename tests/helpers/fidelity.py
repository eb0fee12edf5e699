# SPDX-License-Identifier: GPL-2.0-or-later
"""Every field tshark -T pdml shows for a packet, against espcap's document of it.

The comparison allows exactly the differences docs/schema.md documents ("Where espcap
differs from tshark"):

- naming: a key `X._value` is the field `X`; the frame's facts are top-level fields
  (frame.number = frame_number, frame.len = length, frame.cap_len = caplen,
  frame.protocols = protocols, frame.time = @timestamp, frame.time_epoch =
  sniff_timestamp); `community_id` is espcap's own (tests/test_community_id.py);
- typed values: espcap writes the value, tshark its display text (0x0800 is 2048,
  "1" is true, "Jul 30, 2015 05:22:10.468623000 UTC" is 2015-07-30T05:22:10.468623000Z,
  an IPv6 address in any notation is that address, floats agree to their precision);
  a time whose fraction is out of range is carried into the seconds;
- value-less items (FT_NONE, nested FT_PROTOCOL) are `true` when they have no children
  and not written when they have (their children are);
- cut values: none here, the comparison runs espcap with --max-bytes=0;
- text: pdml escapes a NUL as \\0 and other control characters as \\xN, and XML turns
  tab, CR and LF in an attribute into spaces; espcap writes JSON strings, with every byte
  that is not UTF-8 as U+FFFD. The comparison applies the same rules to both.

Repeats of a field must come in the same order. Nothing else may differ: a field
tshark shows that espcap lacks, or has with another value, is a mismatch, and so is a
field espcap has that tshark does not show.
"""

import codecs
import datetime
import ipaddress
import math
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal, InvalidOperation

# espcap's UTF-8 repair: every byte that is not part of a valid sequence is one U+FFFD.
codecs.register_error("espcap_bytewise", lambda e: ("\ufffd", e.start + 1))

TOP_LEVEL = {
    "frame_number": "frame.number", "length": "frame.len", "caplen": "frame.cap_len",
    "protocols": "frame.protocols", "@timestamp": "frame.time",
    "sniff_timestamp": "frame.time_epoch",
}
INT_TYPES = {"FT_UINT8", "FT_UINT16", "FT_UINT24", "FT_UINT32", "FT_UINT40", "FT_UINT48",
             "FT_UINT56", "FT_UINT64", "FT_INT8", "FT_INT16", "FT_INT24", "FT_INT32",
             "FT_INT40", "FT_INT48", "FT_INT56", "FT_INT64", "FT_FRAMENUM", "FT_IPXNET"}
STRING_TYPES = {"FT_STRING", "FT_STRINGZ", "FT_UINT_STRING", "FT_STRINGZPAD",
                "FT_STRINGZTRUNC"}
MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


# ---- tshark -T pdml ---------------------------------------------------------------

def pdml_packets(path, extra_args=(), timeout=600):
    """Per packet, the list of (name, value, is_proto) Wireshark shows, in tree order.

    value is pdml's "show" (None for protocols and value-less items that have
    children, which are containers and not listed; "" for value-less leaves). The
    geninfo pseudo-protocol and text labels are left out (their children are kept).
    Top-level protocols (the layers) are left out too: they are not values.
    """
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    cmd = ["tshark", "-n", "-N", "m", "-r", str(path), "-T", "pdml", *extra_args]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    text = p.stdout.decode("utf-8", "espcap_bytewise")
    # The XML declaration names an encoding; we hand the parser text, not bytes.
    text = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip())
    if not text.strip():
        return []
    root = ET.fromstring(text)
    out = []
    for pkt in root.iter("packet"):
        acc = []
        for top in pkt:
            if top.get("name") == "geninfo":
                continue
            _walk(top, acc, 0)
        out.append(acc)
    return out


def _walk(el, acc, level):
    name = el.get("name", "")
    children = list(el)
    if el.tag == "proto" and name == "fake-field-wrapper":
        for c in children:
            _walk(c, acc, level)
        return
    if name == "":  # a text label
        for c in children:
            _walk(c, acc, level + 1)
        return
    show = el.get("show")
    if el.tag == "proto" or (name == "data" and show is None):
        # a protocol (pdml prints "data" as a field without a show): a layer at the
        # top, a value-less item inside one
        if level > 0 and not children:
            acc.append((name, "", True))
        for c in children:
            _walk(c, acc, level + 1)
        return
    if show is None or (show == "" and children and el.get("value") == ""):
        # value-less with children: a container
        if not children:
            acc.append((name, "", False))
        for c in children:
            _walk(c, acc, level + 1)
        return
    acc.append((name, show, False))
    for c in children:
        _walk(c, acc, level + 1)


# ---- espcap's documents -------------------------------------------------------------

def espcap_pairs(doc):
    """(field name, value) for every field value of DOC, in document order."""
    out = []
    for k, name in TOP_LEVEL.items():
        if k in doc:
            out.append((name, doc[k]))

    def walk(o):
        for k, v in o.items():
            if k == "envelope":
                continue
            name = k[:-len("._value")] if k.endswith("._value") else k
            for x in (v if isinstance(v, list) else [v]):
                out.append((name, x))

    for body in doc.get("layers", {}).values():
        for o in (body if isinstance(body, list) else [body]):
            if isinstance(o, dict):
                walk(o)
    return out


# ---- values ---------------------------------------------------------------------------

def _ws_text(s):
    """A string as pdml shows it (see the module docstring)."""
    s = s.replace("\x00", "\\0")
    s = re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: "\\x%x" % ord(m.group()), s)
    return _xml_text(s)


def _xml_text(s):
    """What an XML parser makes of a text in an attribute: line ends normalised to LF,
    then tab and LF turned into spaces."""
    return re.sub(r"[\t\n]", " ", s.replace("\r\n", "\n").replace("\r", "\n"))


def _parse_int(s):
    s = s.strip()
    m = re.match(r"^(-?)0x([0-9a-fA-F]+)$", s)
    if m:
        return int(m.group(2), 16) * (-1 if m.group(1) else 1)
    m = re.match(r"^-?\d+", s)
    return int(m.group()) if m else None


def _ns_from_ws_time(s):
    """Nanoseconds since the epoch from Wireshark's absolute-time text, or None."""
    s = s.strip()
    m = re.match(r"^([A-Z][a-z]{2}) +(\d+), (-?\d+) (\d\d):(\d\d):(\d\d)(?:\.(-?\d+))?"
                 r"(?: (UTC|[A-Z]{2,5}))?$", s)
    if m:
        mon, day, year, hh, mm, ss, frac = (MONTHS[m.group(1)], int(m.group(2)),
                                            int(m.group(3)), int(m.group(4)),
                                            int(m.group(5)), int(m.group(6)),
                                            m.group(7) or "")
    else:
        m = re.match(r"^(-?\d+)-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?(?: UTC)?$", s)
        if not m:
            m = re.match(r"^(-?\d+)/(\d+) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: UTC)?$", s)
            if not m:
                return None
            year, doy = int(m.group(1)), int(m.group(2))
            d = datetime.date(year, 1, 1) + datetime.timedelta(days=doy - 1)
            mon, day = d.month, d.day
            hh, mm, ss, frac = int(m.group(3)), int(m.group(4)), int(m.group(5)), m.group(6) or ""
        else:
            year, mon, day, hh, mm, ss, frac = (int(m.group(1)), int(m.group(2)),
                                                int(m.group(3)), int(m.group(4)),
                                                int(m.group(5)), int(m.group(6)),
                                                m.group(7) or "")
    try:
        days = (datetime.date(year, mon, day) - datetime.date(1970, 1, 1)).days
    except ValueError:
        return None
    # a fraction written with other than 9 digits is out of range (Wireshark prints the
    # raw nanoseconds, with their sign): it carries
    ns = int(frac) * 10 ** (9 - len(frac)) if frac and len(frac) < 9 else int(frac or 0)
    return ((days * 86400 + hh * 3600 + mm * 60 + ss) * 10 ** 9) + ns


def _ns_candidates(s):
    """The values Wireshark's text "S.F" of a time may stand for, in nanoseconds.

    For a normalised time there is one. For a time whose fraction is out of range
    Wireshark prints the raw seconds and fraction (display_signed_time): S + F, or, with
    a leading "-" and a negative fraction, S - F or -(S + F)."""
    m = re.match(r"^(-?)(\d+)\.(\d+)$", s.strip())
    if not m:
        return set()
    neg, secs, frac = m.group(1) == "-", int(m.group(2)), m.group(3)
    ns = int(frac) * 10 ** (9 - len(frac)) if len(frac) < 9 else int(frac)
    if not neg:
        return {secs * 10 ** 9 + ns}
    return {-(secs * 10 ** 9 + ns), -secs * 10 ** 9 + ns, secs * 10 ** 9 - ns}


def same_value(name, want, got, ftype):
    """Whether pdml's show WANT and espcap's value GOT are the same value."""
    if isinstance(got, bool):
        if ftype in ("FT_NONE", "FT_PROTOCOL") or want == "":
            return got is True and want == ""
        return want.strip() in (("1", "True", "true") if got else ("0", "False", "false"))
    if got is None:  # NaN or infinity, or an NTP time of zero
        return want.strip().lower() in ("nan", "-nan", "inf", "-inf", "infinity", "-infinity",
                                        "null")
    if name == "frame.time_epoch":
        # sniff_timestamp: 6 decimals (the seed's); the fraction carried when out of range
        g = int(Decimal(str(got)) * 10 ** 9)
        return any(0 <= g - w < 1000 or 0 <= w - g < 1000 for w in _ns_candidates(want))
    if got is None and ftype == "FT_ABSOLUTE_TIME":
        return want == "NULL"  # an NTP time of zero
    if isinstance(got, int) and ftype not in ("FT_FLOAT", "FT_DOUBLE", "FT_RELATIVE_TIME"):
        w = _parse_int(want)
        if ftype in INT_TYPES or ftype is None or ftype == "FT_BOOLEAN":
            if w == got:
                return True
            # A hex display shows only the field's width (uinteger_to_repr): a dissector
            # that puts a wider value in a narrow field shows its low bits; espcap writes
            # the value Wireshark holds (the one its filters match).
            width = {"FT_UINT8": 8, "FT_UINT16": 16, "FT_UINT24": 24}.get(ftype)
            return bool(width and want.startswith("0x") and w == got & ((1 << width) - 1))
        return want == str(got)
    if isinstance(got, (int, float, Decimal)):
        try:
            w = Decimal(want.strip().split(" ")[0])
        except InvalidOperation:
            return False
        g = Decimal(str(got))
        if ftype == "FT_RELATIVE_TIME":
            return int(g * 10 ** 9) in _ns_candidates(want) or w == g
        if w == g:
            return True
        wf, gf = float(w), float(g)
        return math.isclose(wf, gf, rel_tol=1e-6, abs_tol=1e-30)
    if not isinstance(got, str):
        return False
    if ftype == "FT_ABSOLUTE_TIME":
        w = _ns_from_ws_time(want)
        g = _ns_from_ws_time(got) if not got.endswith("Z") else _ns_from_iso(got)
        if name == "frame.time" and w is not None and g is not None:
            # @timestamp has the capture's precision: 6 digits unless it stores ns
            return 0 <= w - g < 1000
        return w is not None and w == g
    if ftype == "FT_IPv6":
        try:
            return ipaddress.IPv6Address(want) == ipaddress.IPv6Address(got)
        except ValueError:
            return want == got
    if ftype == "FT_CHAR":
        return want in (f"'{_ws_text(got)}'", f"'\\{got}'") or _ws_text(got) == want
    if ftype in STRING_TYPES:
        return _xml_text(want) == _ws_text(got)
    return _xml_text(want) == _xml_text(got)


def _ns_from_iso(s):
    m = re.match(r"^(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", s)
    if not m:
        return None
    y, mo, d, hh, mm, ss = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    try:
        days = (datetime.date(y, mo, d) - datetime.date(1970, 1, 1)).days
    except ValueError:
        return None
    return (days * 86400 + hh * 3600 + mm * 60 + ss) * 10 ** 9 + (
        int(frac) * 10 ** (9 - len(frac)) if frac else 0)


# ---- one packet, one capture ---------------------------------------------------------

class Agreement:
    """Counts over many packets: tshark's values found in espcap's documents."""

    def __init__(self):
        self.expected = 0      # values tshark shows
        self.matched = 0       # ... found in espcap's document, same value, same place
        self.extra = 0         # values espcap has that tshark does not show
        self.packets = 0
        self.docs_missing = 0  # packets tshark shows that espcap has no document for
        self.problems = defaultdict(list)  # field -> [(where, tshark, espcap)]

    def add(self, other):
        self.expected += other.expected
        self.matched += other.matched
        self.extra += other.extra
        self.packets += other.packets
        self.docs_missing += other.docs_missing
        for k, v in other.problems.items():
            self.problems[k].extend(v[:5 - len(self.problems[k])])

    @property
    def percent(self):
        return 100.0 * self.matched / self.expected if self.expected else 100.0

    def perfect(self):
        return self.matched == self.expected and not self.extra and not self.docs_missing

    def report(self, title, limit=25):
        lines = [f"{title}: {self.matched} of {self.expected} values agree "
                 f"({self.percent:.4f}%) over {self.packets} packets; {self.extra} values "
                 f"only in espcap; {self.docs_missing} packets without a document"]
        for name, ex in sorted(self.problems.items(), key=lambda kv: -len(kv[1]))[:limit]:
            where, w, g = ex[0]
            w, g = repr(w), repr(g)
            w = w if len(w) < 160 else w[:150] + "..."
            g = g if len(g) < 160 else g[:150] + "..."
            lines.append(f"  {name} ({len(ex)}x): {where}: tshark {w} espcap {g}")
        return "\n".join(lines)


def compare_packet(tshark_fields, doc, types, where, agg):
    agg.packets += 1
    want = defaultdict(list)
    for name, show, _ in tshark_fields:
        want[name].append(show)
    got = defaultdict(list)
    for name, value in espcap_pairs(doc):
        got[name].append(value)
    for name, ws in want.items():
        gs = got.get(name, [])
        ft = types.get(name)
        agg.expected += len(ws)
        for i, w in enumerate(ws):
            if i < len(gs) and same_value(name, w, gs[i], ft):
                agg.matched += 1
            else:
                agg.problems[name].append((where, w, gs[i] if i < len(gs) else "(absent)"))
        if len(gs) > len(ws):
            agg.extra += len(gs) - len(ws)
            agg.problems[name].append((where, "(absent)", gs[len(ws)]))
    for name, gs in got.items():
        if name not in want:
            agg.extra += len(gs)
            agg.problems[name].append((where, "(absent)", gs[0]))


def compare_capture(path, docs, types, extra_args=()):
    """Agreement of espcap's DOCS (in order) with tshark's pdml of PATH."""
    agg = Agreement()
    packets = pdml_packets(path, extra_args)
    for i, fields in enumerate(packets):
        if i >= len(docs):
            agg.docs_missing += len(packets) - i
            break
        compare_packet(fields, docs[i], types, f"{os.path.basename(str(path))}#{i + 1}", agg)
    if len(docs) > len(packets):
        agg.extra += len(docs) - len(packets)
        agg.problems["(documents)"].append((str(path), len(packets), len(docs)))
    return agg
