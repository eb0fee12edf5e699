# SPDX-License-Identifier: GPL-2.0-or-later
"""Run espcap and take its output apart (NDJSON on stdout, messages on stderr)."""

import json
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_PCAPS = ROOT.parent / "shared" / "pcaps"

SUMMARY_PREFIX = "espcap: summary: "
WARNING_PREFIX = "espcap: warning: "
# The documented keys and the form of their values. Other keys may be added
# (anywhere); the documented ones must keep their relative order.
SUMMARY_KEYS = [
    ("files", r"\d+"), ("failed_files", r"\d+"), ("packets", r"\d+"),
    ("documents", r"\d+"), ("elapsed", r"\d+\.\d\ds"), ("rate", r"\d+/s"),
]


def summary_problem(line):
    """None if LINE is a well-formed summary line, else what is wrong with it."""
    if line is None:
        return "no 'espcap: summary: ' line on stderr"
    if not line.startswith(SUMMARY_PREFIX):
        return f"summary line does not start with {SUMMARY_PREFIX!r}: {line!r}"
    toks = line[len(SUMMARY_PREFIX):].split(" ")
    keys = []
    for t in toks:
        k, sep, v = t.partition("=")
        if not sep or not k:
            return f"summary token {t!r} is not key=value: {line!r}"
        keys.append((k, v))
    names = [k for k, _ in keys]
    pos = []
    for k, form in SUMMARY_KEYS:
        if names.count(k) != 1:
            return f"summary key {k!r} occurs {names.count(k)} times: {line!r}"
        v = dict(keys)[k]
        if not re.fullmatch(form, v):
            return f"summary {k}={v!r} does not match {form}: {line!r}"
        pos.append(names.index(k))
    if pos != sorted(pos):
        return f"documented summary keys out of order: {line!r}"
    return None


def espcap_path():
    """The binary under test: $ESPCAP_BIN, else ./espcap at the repo root."""
    env = os.environ.get("ESPCAP_BIN")
    return Path(env) if env else ROOT / "espcap"


def _reject_constant(name):
    raise ValueError(f"non-JSON constant {name!r}")


class DuplicateKeys(dict):
    """A dict that remembers the keys that occurred more than once."""

    duplicates = ()


def _pairs_hook(pairs):
    d = DuplicateKeys()
    dups = []
    for k, v in pairs:
        if k in d:
            dups.append(k)
        d[k] = v
    if dups:
        d.duplicates = tuple(dups)
    return d


def parse_line(line, decimal=False):
    """Parse one NDJSON line strictly: UTF-8, no NaN/Infinity, one object.

    Objects are DuplicateKeys dicts so that callers can look for repeated keys.
    Raises ValueError with a short reason.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8")  # strict: raises UnicodeDecodeError
    kw = {"parse_constant": _reject_constant, "object_pairs_hook": _pairs_hook}
    if decimal:
        kw["parse_float"] = Decimal
    obj = json.loads(line, **kw)
    if not isinstance(obj, dict):
        raise ValueError(f"line is JSON {type(obj).__name__}, not an object")
    return obj


def find_duplicates(obj, path="$"):
    """Yield 'path: key' for every key repeated within one JSON object."""
    if isinstance(obj, dict):
        for k in getattr(obj, "duplicates", ()):
            yield f"{path}: {k!r}"
        for k, v in obj.items():
            yield from find_duplicates(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from find_duplicates(v, f"{path}[{i}]")


class Result:
    """What one espcap run produced."""

    def __init__(self, args, rc, stdout, stderr, elapsed):
        self.args = list(args)
        self.rc = rc
        self.stdout = stdout  # bytes
        self.stderr = stderr  # str (decoded with replacement)
        self.elapsed = elapsed
        self._docs = None
        self._docs_dec = None

    # -- stdout -----------------------------------------------------------
    @property
    def lines(self):
        """stdout split into lines (bytes), without the final empty piece."""
        lines = self.stdout.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return lines

    def _parse(self, decimal):
        docs = []
        for i, line in enumerate(self.lines, 1):
            try:
                docs.append(parse_line(line, decimal=decimal))
            except (ValueError, UnicodeDecodeError) as e:
                raise AssertionError(
                    f"stdout line {i} of {self.cmdline()} is not a valid JSON "
                    f"document: {e}\n  line starts: {line[:300]!r}"
                ) from None
        return docs

    @property
    def docs(self):
        """Every stdout line parsed (floats as float). AssertionError if not JSON."""
        if self._docs is None:
            self._docs = self._parse(False)
        return self._docs

    @property
    def docs_decimal(self):
        """Same as docs, but JSON fractions parsed exactly as Decimal."""
        if self._docs_dec is None:
            self._docs_dec = self._parse(True)
        return self._docs_dec

    # -- stderr -----------------------------------------------------------
    @property
    def stderr_lines(self):
        return [l for l in self.stderr.splitlines() if l.strip()]

    @property
    def summary_line(self):
        found = [l for l in self.stderr_lines if l.startswith(SUMMARY_PREFIX)]
        return found[-1] if found else None

    @property
    def summary(self):
        """The summary's key=value pairs as a dict of strings, or None."""
        line = self.summary_line
        if line is None:
            return None
        out = {}
        for tok in line[len(SUMMARY_PREFIX):].split():
            k, sep, v = tok.partition("=")
            if sep:
                out[k] = v
        return out

    @property
    def warnings(self):
        """The text after 'espcap: warning: ' of every warning line."""
        return [l[len(WARNING_PREFIX):] for l in self.stderr_lines
                if l.startswith(WARNING_PREFIX)]

    def warnings_for(self, path):
        """The REASONs of warnings 'espcap: warning: PATH: REASON' for PATH."""
        p = str(path) + ": "
        return [w[len(p):] for w in self.warnings if w.startswith(p)]

    def cmdline(self):
        return "espcap " + " ".join(self.args)

    def describe(self, max_stderr=2000):
        err = self.stderr
        if len(err) > max_stderr:
            err = err[:max_stderr // 2] + "\n[...]\n" + err[-max_stderr // 2:]
        return (f"command: {self.cmdline()}\nexit status: {self.rc}\n"
                f"stdout: {len(self.lines)} lines\nstderr:\n{err}")


def run(args, timeout=120, cwd=None, env=None, binary=None, stdin=subprocess.DEVNULL):
    """Run espcap with ARGS; return a Result. AssertionError on timeout."""
    import time

    binary = Path(binary) if binary else espcap_path()
    cmd = [str(binary)] + [str(a) for a in args]
    full_env = os.environ.copy()
    if env:
        full_env.update(env)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=str(cwd or ROOT), env=full_env, stdin=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        last = last_file_name(out)
        nlines = out.count(b"\n")
        raise AssertionError(
            f"espcap did not finish within {timeout}s (hang?): {' '.join(cmd)}\n"
            f"stdout so far: {nlines} lines; last file_name seen: {last}\n"
            f"stderr so far (tail): {(e.stderr or b'')[-1500:].decode('utf-8', 'replace')}"
        ) from None
    return Result(args, p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"),
                  time.monotonic() - t0)


_FILE_NAME_RE = re.compile(rb'"file_name"\s*:\s*"((?:[^"\\]|\\.)*)"')


def last_file_name(stdout_bytes):
    """The file_name of the last (possibly partial) document in stdout."""
    found = None
    for m in _FILE_NAME_RE.finditer(stdout_bytes[-200000:]):
        found = m.group(1)
    if found is None:
        return None
    try:
        return json.loads(b'"' + found + b'"')
    except ValueError:
        return found.decode("utf-8", "replace")


def signal_note(rc):
    """Explain a negative (killed by signal) return code."""
    if rc is not None and rc < 0:
        import signal
        try:
            return f"killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"
