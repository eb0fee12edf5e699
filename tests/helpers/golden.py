# SPDX-License-Identifier: GPL-2.0-or-later
"""Golden-output cases: tests/golden/TESTLIST and tests/golden/NAME.ndjson.

TESTLIST holds one case per line, `NAME  CAPTURE  [OPTIONS...]`, where CAPTURE
is `sample` (written at test time by `build/capgen sample`) or a path relative
to the repo root (e.g. ../shared/pcaps/test_dns.pcap). Blank lines and lines
starting with '#' are ignored.

Normalisation (the only changes made to espcap's output): `file_date_utc` is
dropped, `file_name` is replaced by its basename. Everything else, key order
and number notation included, is kept exactly.

Run as a script (see update.sh): `python3 tests/helpers/golden.py update [NAME...]`.
"""

import difflib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from helpers import espcap as E  # noqa: E402
else:
    from . import espcap as E

GOLDEN_DIR = E.ROOT / "tests" / "golden"
TESTLIST = GOLDEN_DIR / "TESTLIST"
CAPGEN = E.ROOT / "build" / "capgen"


class Case:
    def __init__(self, name, capture, options, lineno):
        self.name, self.capture, self.options, self.lineno = name, capture, options, lineno

    @property
    def expected_path(self):
        return GOLDEN_DIR / f"{self.name}.ndjson"

    def __repr__(self):
        return f"Case({self.name!r}, {self.capture!r}, {self.options!r})"


def load_cases(path=TESTLIST):
    cases = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = shlex.split(line)
        if len(parts) < 2:
            raise ValueError(f"{path}:{n}: need at least NAME and CAPTURE")
        cases.append(Case(parts[0], parts[1], parts[2:], n))
    names = [c.name for c in cases]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        raise ValueError(f"{path}: duplicate case names {sorted(dup)}")
    return cases


def generate_sample(out_path):
    """Write the generated sample capture to OUT_PATH with build/capgen."""
    p = subprocess.run([str(CAPGEN), "sample", str(out_path)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"capgen sample failed ({p.returncode}): {p.stderr}")
    return Path(out_path)


def capture_path(case, sample_path=None):
    """The capture file for CASE: the generated sample, or a repo-relative path."""
    if case.capture == "sample":
        return sample_path
    return E.ROOT / case.capture


# ---- normalisation -----------------------------------------------------

def _dump(v):
    """JSON text for V, keeping key order, duplicate keys and number notation."""
    if isinstance(v, _Pairs):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _dump(x)
                              for k, x in v.pairs) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_dump(x) for x in v) + "]"
    if isinstance(v, Decimal):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


class _Pairs:
    def __init__(self, pairs):
        self.pairs = pairs


def _reject(name):
    raise ValueError(f"non-JSON constant {name}")


def normalise_line(line):
    """One stdout line of espcap -> its normalised text (no newline)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8")
    obj = json.loads(line, object_pairs_hook=_Pairs, parse_float=Decimal,
                     parse_constant=_reject)
    if not isinstance(obj, _Pairs):
        raise ValueError("document is not a JSON object")
    pairs = []
    for k, v in obj.pairs:
        if k == "file_date_utc":
            continue
        if k == "file_name" and isinstance(v, str):
            v = v.rsplit("/", 1)[-1]
        pairs.append((k, v))
    return _dump(_Pairs(pairs))


def normalise_output(stdout_bytes):
    lines = stdout_bytes.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [normalise_line(l) for l in lines]


def run_case(case, sample_path=None, timeout=300):
    """Run espcap for CASE; return (Result, normalised lines)."""
    cap = capture_path(case, sample_path)
    res = E.run(["--file=" + str(cap)] + case.options, timeout=timeout)
    return res, normalise_output(res.stdout)


# ---- comparison --------------------------------------------------------

def _flat(v, path="", out=None):
    out = {} if out is None else out
    if isinstance(v, dict):
        for k, x in v.items():
            _flat(x, f"{path}/{k}", out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _flat(x, f"{path}[{i}]", out)
    else:
        out[path] = v
    return out


def explain_difference(expected, actual, max_lines=40):
    """A readable account of how two normalised outputs differ, or ''."""
    if expected == actual:
        return ""
    msg = [f"expected {len(expected)} documents, got {len(actual)}"]
    first = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b),
                 min(len(expected), len(actual)))
    msg.append(f"first difference at document {first + 1}")
    if first < len(expected) and first < len(actual):
        try:
            e, a = _flat(json.loads(expected[first])), _flat(json.loads(actual[first]))
            keys = [k for k in dict.fromkeys(list(e) + list(a)) if e.get(k, "<absent>") != a.get(k, "<absent>")]
            msg.append(f"{len(keys)} differing values in that document:")
            for k in keys[:20]:
                msg.append(f"  {k}: expected {e.get(k, '<absent>')!r}, got {a.get(k, '<absent>')!r}")
        except ValueError:
            pass
        n_diff = sum(1 for x, y in zip(expected, actual) if x != y)
        msg.append(f"{n_diff} documents differ in the common range")
    diff = list(difflib.unified_diff(expected[first:first + 5], actual[first:first + 5],
                                     "expected", "actual", lineterm="", n=0))
    msg.append("unified diff of the first differing lines (cut to 400 chars):")
    msg.extend(l[:400] for l in diff[:max_lines])
    return "\n".join(msg)


# ---- update ------------------------------------------------------------

def update(names):
    cases = load_cases()
    known = {c.name for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"update: unknown case(s): {' '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = [c for c in cases if not names or c.name in names]
    if not E.espcap_path().exists():
        print(f"update: {E.espcap_path()} not found; run make first", file=sys.stderr)
        return 1
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        sample = None
        for c in chosen:
            if c.capture == "sample" and sample is None:
                sample = generate_sample(Path(tmp) / "sample.pcap")
            cap = capture_path(c, sample)
            if not cap.exists():
                print(f"update: {c.name}: capture {cap} not found, skipped", file=sys.stderr)
                status = 1
                continue
            res, lines = run_case(c, sample)
            if res.rc != 0:
                print(f"update: {c.name}: espcap exit status {res.rc}, not written:\n"
                      f"{res.stderr}", file=sys.stderr)
                status = 1
                continue
            text = "".join(l + "\n" for l in lines)
            c.expected_path.write_text(text, encoding="utf-8")
            print(f"update: wrote {c.expected_path.relative_to(E.ROOT)} ({len(lines)} documents)")
    return status


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "update":
        print("usage: golden.py update [NAME...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(update(args[1:]))
