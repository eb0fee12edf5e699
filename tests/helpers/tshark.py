# SPDX-License-Identifier: GPL-2.0-or-later
"""Ask Wireshark's own tools (tshark, capinfos) what a capture holds."""

import re
import shutil
import subprocess

# Unlikely to occur inside any field value.
AGGREGATOR = "\x1f"


def available():
    return shutil.which("tshark") is not None


def version():
    """Wireshark's version as 'X.Y.Z' from `tshark --version`, or None."""
    if not available():
        return None
    p = subprocess.run(["tshark", "--version"], capture_output=True, text=True)
    m = re.search(r"TShark \(Wireshark\) (\d+\.\d+\.\d+)", p.stdout)
    return m.group(1) if m else None


def fields(path, names, timeout=300, display_filter=None):
    """Run `tshark -T fields` on PATH; return a list of dicts, one per packet.

    Each dict maps a field name to the list of its values (all occurrences,
    empty list when absent).
    """
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields",
           "-E", "occurrence=a", "-E", "separator=/t",
           "-E", "aggregator=" + AGGREGATOR, "-E", "quote=n"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for n in names:
        cmd += ["-e", n]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    rows = []
    for raw in p.stdout.decode("utf-8", "replace").split("\n"):
        if raw == "":
            continue
        cols = raw.split("\t")
        if len(cols) != len(names):
            raise AssertionError(f"unexpected tshark line {raw!r} for {path}")
        rows.append({n: (c.split(AGGREGATOR) if c != "" else [])
                     for n, c in zip(names, cols)})
    return rows


_COUNT_RE = re.compile(r"^Number of packets:\s+(\d+)\s*$", re.M)


def count(path, timeout=60):
    """How many packets Wireshark's file reader gets from PATH.

    Returns (count_or_None, error_text). count is None when the file cannot be
    opened at all; error_text is non-empty when the reader reported a problem
    (e.g. the file is cut short, in which case count is what came before it).
    Uses capinfos, which shares tshark's reader (wiretap) but does not dissect.
    """
    try:
        p = subprocess.run(["capinfos", "-c", "-M", str(path)],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "capinfos timed out"
    m = _COUNT_RE.search(p.stdout)
    err = p.stderr.strip()
    if p.returncode != 0 and not err:
        err = f"capinfos exit status {p.returncode}"
    return (int(m.group(1)) if m else None), err


def frame_count(path, timeout=120):
    """Number of frames `tshark -r PATH` prints (slower than count())."""
    p = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields",
                        "-e", "frame.number"], capture_output=True, timeout=timeout)
    return sum(1 for l in p.stdout.split(b"\n") if l.strip())


def registered_fields():
    """{field name: type} of every field Wireshark registers (`tshark -G fields`)."""
    p = subprocess.run(["tshark", "-G", "fields"], capture_output=True, timeout=120)
    out = {}
    for line in p.stdout.decode("utf-8", "replace").split("\n"):
        cols = line.split("\t")
        if len(cols) >= 4 and cols[0] == "F":
            out[cols[2]] = cols[3]
        elif len(cols) >= 3 and cols[0] == "P":
            out[cols[2]] = "FT_PROTOCOL"
    return out


def json_packets(path, timeout=300, resolve="m"):
    """`tshark -T json` of PATH: per packet, the list of (field, value) leaves.

    Keys that are not registered field names (text labels such as 'Queries',
    '*_tree' subtrees) are walked through; the frame layer is left out. Values
    are tshark's strings. Only MAC names are resolved (-N m), as espcap does. A field with children but also a value (e.g.
    'ip.flags' with 'ip.flags_tree') counts once with its value.
    """
    import json

    fields = registered_fields()
    p = subprocess.run(["tshark", "-N", resolve, "-r", str(path), "-T", "json"],
                       capture_output=True, timeout=timeout)
    packets = json.loads(p.stdout.decode("utf-8", "replace"), object_pairs_hook=list)
    out = []

    def walk(pairs, acc):
        for k, v in pairs:
            if isinstance(v, list) and v and isinstance(v[0], tuple):
                if k in fields and fields[k] in ("FT_NONE", "FT_PROTOCOL"):
                    pass  # a value-less node with children: only the children count
                walk(v, acc)
            elif isinstance(v, list) and v == []:
                if k in fields:
                    acc.append((k, ""))
            elif k in fields:
                if isinstance(v, list):  # a list of values
                    acc.extend((k, x) for x in v if not isinstance(x, list))
                else:
                    acc.append((k, v))

    for pkt in packets:
        src = dict(pkt)["_source"]
        layers = dict(src)["layers"]
        acc = []
        for name, body in layers:
            if name == "frame":
                continue
            if isinstance(body, list):
                walk(body, acc)
        out.append(acc)
    return out, fields
