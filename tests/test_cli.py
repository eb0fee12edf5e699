# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line of espcap: --help, --version, usage errors, exit statuses."""

import json
import re

import pytest

from helpers import espcap as E
from helpers import tshark as T


def assert_usage_error(res, *must_name):
    """Exit 2, nothing on stdout, one 'espcap: ' line naming the problem, a --help hint."""
    ctx = res.describe()
    assert res.rc == 2, f"usage error must exit with status 2\n{ctx}"
    assert res.stdout == b"", f"usage error must print nothing on stdout\n{ctx}"
    lines = res.stderr_lines
    main = [l for l in lines if l.startswith("espcap: ")]
    assert len(main) == 1, f"expected exactly one 'espcap: ' line on stderr\n{ctx}"
    assert len(lines) <= 2, f"expected the message and at most one hint line\n{ctx}"
    assert "--help" in res.stderr, f"no hint mentioning --help\n{ctx}"
    for name in must_name:
        assert name in main[0], f"message does not name {name!r}: {main[0]!r}\n{ctx}"
    assert not main[0].startswith(E.SUMMARY_PREFIX), f"no summary for usage errors\n{ctx}"
    return main[0]


# ---- --help / --version -------------------------------------------------

@pytest.fixture(scope="module")
def help_res(run_espcap):
    return run_espcap("--help")


def test_help(help_res):
    ctx = help_res.describe()
    assert help_res.rc == 0, ctx
    out = help_res.stdout.decode()
    assert "--file" in out and "--dir" in out, f"usage lacks --file/--dir\n{out}"
    assert "--max-bytes" in out and "--protocols-list" in out, out
    assert 'espcap --nic=eth0 --node=localhost:9200 --bpf="tcp port 80"' in out, \
        f"usage lacks the seed's example line\n{out}"


def test_version(run_espcap):
    res = run_espcap("--version")
    ctx = res.describe()
    assert res.rc == 0, ctx
    out = res.stdout.decode()
    assert re.search(r"^espcap \d+\.\d+\.\d+\s*$", out, re.M), f"no 'espcap X.Y.Z' line\n{out}"
    ws = T.version() or "4.0.17"
    assert re.search(rf"^.*Wireshark {re.escape(ws)}\b", out, re.M), \
        f"no line naming Wireshark {ws}\n{out}"


# ---- usage errors -------------------------------------------------------

@pytest.mark.parametrize("args,names", [
    (["--bogus"], ["--bogus"]),
    (["--file=/dev/null", "--frobnicate=3"], ["--frobnicate"]),
    (["--file"], ["--file"]),
    (["--dir"], ["--dir"]),
    (["--file=/dev/null", "--max-bytes"], ["--max-bytes"]),
    (["--file=/dev/null", "--protocols-list"], ["--protocols-list"]),
    ([], []),
    (["--max-bytes=10"], []),
    (["--file=a.pcap", "--dir=b"], ["--file", "--dir"]),
    (["--dir=b", "--file=a.pcap"], ["--file", "--dir"]),
    (["--file=/dev/null", "--max-bytes=abc"], ["--max-bytes"]),
    (["--file=/dev/null", "--max-bytes=-1"], ["--max-bytes"]),
    (["--file=/dev/null", "--max-bytes=12x"], ["--max-bytes"]),
    (["--file=/dev/null", "--max-bytes="], ["--max-bytes"]),
    (["--file=/dev/null", "--max-bytes=99999999999999999999999"], ["--max-bytes"]),
], ids=["unknown", "unknown-after-mode", "missing-file-value", "missing-dir-value",
        "missing-max-bytes-value", "missing-protocols-list-value", "no-args", "no-mode",
        "file-and-dir", "dir-and-file", "bad-number-alpha", "bad-number-negative",
        "bad-number-trailing", "bad-number-empty", "bad-number-overflow"])
def test_usage_errors(run_espcap, args, names):
    assert_usage_error(run_espcap(*args), *names)


def _long_options(help_text):
    return sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", help_text)))


def test_ambiguous_prefix(run_espcap, help_res):
    """A prefix shared by two options (taken from --help) is a usage error naming it."""
    opts = _long_options(help_res.stdout.decode())
    amb = None
    for o in opts:
        for n in range(1, len(o)):
            pre = o[:n]
            if pre not in opts and sum(1 for x in opts if x.startswith(pre)) >= 2:
                amb = pre
                break
        if amb:
            break
    assert amb, f"no two options in --help share a prefix: {opts}"
    line = assert_usage_error(run_espcap(f"--{amb}=x"), f"--{amb}")
    assert "ambig" in line.lower(), f"message should say the option is ambiguous: {line!r}"


def test_two_modes_same_option_twice(run_espcap, small_capture):
    """--file twice: either a usage error or accepted; never a crash."""
    res = run_espcap(f"--file={small_capture}", f"--file={small_capture}")
    assert res.rc in (0, 2), res.describe()
    if res.rc == 2:
        assert_usage_error(res)


# ---- equivalent spellings ------------------------------------------------

def test_option_spellings_equivalent(run_espcap, small_capture):
    ref = run_espcap(f"--file={small_capture}")
    assert ref.rc == 0, ref.describe()
    assert ref.lines, "no documents"
    for args in ([ "--file", str(small_capture)], [f"--fi={small_capture}"],
                 ["--fi", str(small_capture)]):
        res = run_espcap(*args)
        assert res.rc == 0, res.describe()
        assert res.stdout == ref.stdout, \
            f"{' '.join(args)} gives different stdout than --file={small_capture}"


def test_dir_prefix(run_espcap, small_capture, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "one.pcap").write_bytes(small_capture.read_bytes())
    a = run_espcap(f"--dir={d}")
    b = run_espcap(f"--d={d}")
    c = run_espcap("--dir", str(d))
    for r in (a, b, c):
        assert r.rc == 0, r.describe()
    assert a.lines and a.stdout == b.stdout == c.stdout
    assert {doc["file_name"] for doc in a.docs} == {f"{d}/one.pcap"}


def test_max_bytes_spellings(run_espcap, small_capture):
    a = run_espcap(f"--file={small_capture}", "--max-bytes=16")
    b = run_espcap(f"--file={small_capture}", "--max-bytes", "16")
    c = run_espcap(f"--file={small_capture}", "--max-b=16")  # a unique prefix
    for r in (a, b, c):
        assert r.rc == 0, r.describe()
    assert a.stdout == b.stdout == c.stdout
    # a prefix of two options is refused, naming both (--max-future came with issue 10)
    d = run_espcap(f"--file={small_capture}", "--max=16")
    assert d.rc == 2 and "--max-bytes" in d.stderr and "--max-future" in d.stderr, d.describe()


# ---- fatal and input errors ---------------------------------------------

def test_protocols_list_missing(run_espcap, small_capture, tmp_path):
    missing = tmp_path / "no-such-protocols.list"
    res = run_espcap(f"--file={small_capture}", f"--protocols-list={missing}")
    ctx = res.describe()
    assert res.rc == 3, f"missing protocols list must be fatal (3)\n{ctx}"
    assert str(missing) in res.stderr, f"message must name {missing}\n{ctx}"
    assert res.stdout == b"", ctx
    assert any(l.startswith("espcap: ") and str(missing) in l for l in res.stderr_lines), ctx


def test_protocols_list_unreadable(run_espcap, small_capture, tmp_path):
    """A directory given as the protocols list cannot be read: fatal, names it."""
    d = tmp_path / "protocols.list.d"
    d.mkdir()
    res = run_espcap(f"--file={small_capture}", f"--protocols-list={d}")
    ctx = res.describe()
    assert res.rc == 3, ctx
    assert str(d) in res.stderr, ctx
    assert res.stdout == b"", ctx


def test_nonexistent_file(run_espcap, tmp_path):
    missing = tmp_path / "missing.pcap"
    res = run_espcap(f"--file={missing}")
    ctx = res.describe()
    assert res.rc == 1, f"unreadable input must give exit status 1\n{ctx}"
    assert res.stdout == b"", ctx
    reasons = res.warnings_for(missing)
    assert reasons and reasons[0].strip(), \
        f"expected 'espcap: warning: {missing}: REASON'\n{ctx}"


def test_nonexistent_dir(run_espcap, tmp_path):
    missing = tmp_path / "nodir"
    res = run_espcap(f"--dir={missing}")
    ctx = res.describe()
    assert res.rc in (1, 3), ctx
    assert str(missing) in res.stderr, ctx
    assert res.stdout == b"", ctx


# ---- output streams -------------------------------------------------------

def test_ndjson_and_summary(run_espcap, small_capture):
    res = run_espcap(f"--file={small_capture}")
    ctx = res.describe()
    assert res.rc == 0, ctx
    assert res.stdout.endswith(b"\n"), "stdout must end with a newline"
    for i, line in enumerate(res.lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            pytest.fail(f"stdout line {i} is not JSON: {e}: {line[:200]!r}")
        assert isinstance(obj, dict), f"line {i} is not an object"
    problem = E.summary_problem(res.summary_line)
    assert not problem, f"{problem}\n{ctx}"
    s = res.summary
    n = len(res.lines)
    assert s["files"] == "1" and s["failed_files"] == "0", res.summary_line
    assert int(s["documents"]) == n and int(s["packets"]) == n, res.summary_line
    others = [l for l in res.stderr_lines
              if not l.startswith(E.SUMMARY_PREFIX)]
    assert not [l for l in others if not l.startswith("espcap: ")], \
        f"every stderr line should start with 'espcap: '\n{ctx}"
    assert not res.warnings, f"no warnings expected for a good capture\n{ctx}"
