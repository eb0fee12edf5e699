# SPDX-License-Identifier: GPL-2.0-or-later
"""Look inside espcap documents: collect field values, flatten like Elasticsearch."""

import re
from decimal import Decimal

TOP_LEVEL_TYPES = {
    "@timestamp": str,
    "sniff_timestamp": (int, float, Decimal),
    "sniff_date_utc": str,
    "capture": str,
    "file_name": str,
    "file_date_utc": str,
    "frame_number": int,
    "length": int,
    "caplen": int,
    "protocols": str,
    "protocol": str,
    "layers": dict,
}

ROLE_LAYERS = ("link", "network", "transport", "application")
# Top-level fields a document has only sometimes.
OPTIONAL_TOP_LEVEL_TYPES = {"community_id": str, "interface": str}


def field_values(obj, name):
    """Every value of field NAME anywhere in OBJ (keys NAME or NAME._value).

    List values are flattened, so the result is a flat list of scalars.
    """
    out = []
    keys = (name, name + "._value")

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in keys and not isinstance(v, dict):
                    if isinstance(v, list):
                        out.extend(x for x in v if not isinstance(x, (dict, list)))
                    else:
                        out.append(v)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(obj)
    return out


_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
_INT_RE = re.compile(r"^-?\d+$")
_DEC_RE = re.compile(r"^-?\d+\.\d+$")


def norm(v):
    """Normalise one value for comparison with tshark's text output."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (float, Decimal)):
        d = Decimal(str(v))
        if d == d.to_integral_value():
            return str(int(d))
        return str(d.normalize())
    if v is None:
        return "null"
    s = str(v)
    if _HEX_RE.match(s):
        return str(int(s, 16))
    if s in ("True", "true"):
        return "1"
    if s in ("False", "false"):
        return "0"
    if _INT_RE.match(s):
        return str(int(s))
    if _DEC_RE.match(s):
        return norm(Decimal(s))
    return s


def walk_keys(obj, path="$"):
    """Yield (path, key) for every object key in OBJ."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield path, k
            yield from walk_keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk_keys(v, f"{path}[{i}]")


def es_leaves(obj, prefix=()):
    """Flatten OBJ as Elasticsearch's dynamic mapping sees it.

    Yields (path_tuple, kind) where kind is 'object' for every object node and a
    JSON type name ('number', 'string', 'boolean', 'null') for every leaf.
    Dotted keys are expanded ('ip.flags.df' -> ip / flags / df); arrays are
    transparent (an array of objects maps like an object, an array of scalars
    like a scalar).
    """
    if isinstance(obj, list):
        for v in obj:
            yield from es_leaves(v, prefix)
        return
    if isinstance(obj, dict):
        if prefix:
            yield prefix, "object"
        for k, v in obj.items():
            parts = tuple(k.split("."))
            # intermediate objects created by the expansion of a dotted key
            for i in range(1, len(parts)):
                yield prefix + parts[:i], "object"
            yield from es_leaves(v, prefix + parts)
        return
    if isinstance(obj, bool):
        kind = "boolean"
    elif isinstance(obj, (int, float, Decimal)):
        kind = "number"
    elif obj is None:
        kind = "null"
    else:
        kind = "string"
    yield prefix, kind


class MappingChecker:
    """Accumulate Elasticsearch-style mappings over many documents.

    conflicts(): paths used both as an object and as a value.
    type_conflicts(): paths whose leaf values have more than one JSON type.
    """

    def __init__(self):
        self.kinds = {}  # path -> {kind: first example "where"}

    def add(self, doc, where):
        for path, kind in es_leaves(doc):
            if kind == "null":
                continue
            seen = self.kinds.setdefault(path, {})
            seen.setdefault(kind, where)

    def conflicts(self):
        out = []
        for path, seen in self.kinds.items():
            if "object" in seen and len(seen) > 1:
                out.append((".".join(path), seen))
        return sorted(out)

    def type_conflicts(self):
        out = []
        for path, seen in self.kinds.items():
            leaf = {k: w for k, w in seen.items() if k != "object"}
            if len(leaf) > 1:
                out.append((".".join(path), leaf))
        return sorted(out)


def format_conflicts(conflicts, limit=25):
    lines = []
    for path, seen in conflicts[:limit]:
        detail = "; ".join(f"{kind} in {where}" for kind, where in seen.items())
        lines.append(f"  {path}: {detail}")
    if len(conflicts) > limit:
        lines.append(f"  ... and {len(conflicts) - limit} more")
    return "\n".join(lines)


def where(doc):
    return f"{doc.get('file_name')}#{doc.get('frame_number')}"
