# SPDX-License-Identifier: GPL-2.0-or-later
"""The progress line, as a person sees it: espcap runs with stderr on a pseudo-terminal
(stdout to a file, as `espcap --file=x > out.ndjson` in a terminal), and the bytes that
reach the terminal are replayed the way a terminal shows them (\\r returns to the start of
the line and what follows overwrites it)."""

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

from helpers import espcap as E

LINE = re.compile(r"espcap: (?:progress: )?(\d+)/(\d+) files  ([\d.]+)/([\d.]+) (B|KiB|MiB|GiB)"
                  r"  (\d+)%  (\d+) pkts  (\d+) docs/s  (ETA [\d:-]+|in \d+:\d\d|watching .*)$")


@pytest.fixture(scope="module")
def bench_capture(capgen_bin, tmp_path_factory):
    """A capture that takes a few seconds to read (several progress updates)."""
    out = tmp_path_factory.mktemp("progress") / "bench.pcap"
    p = subprocess.run([str(capgen_bin), "bench", "60000", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return out


def run_on_pty(espcap_bin, args, stdout_to_pty=False, cols=100, timeout=180):
    """Runs espcap with stderr (and, if asked, stdout) on a pseudo-terminal of COLS
    columns. Returns (exit status, bytes the terminal received, stdout bytes)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # the bytes as espcap wrote them, no \n -> \r\n
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    out_path = f"/tmp/espcap-pty-{os.getpid()}.out"
    with open(out_path, "wb") as out:
        p = subprocess.Popen([str(espcap_bin)] + [str(a) for a in args], cwd=str(E.ROOT),
                             stdin=subprocess.DEVNULL, stdout=slave if stdout_to_pty else out,
                             stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=30)
    os.close(master)
    stdout = open(out_path, "rb").read()
    os.unlink(out_path)
    return p.returncode, seen, stdout


def screen(raw):
    """The lines a terminal shows for RAW: \\r goes back to column 0, text overwrites."""
    lines, cur, col = [], [], 0
    for ch in raw.decode("utf-8", "replace"):
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur).rstrip())
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
    if cur:
        lines.append("".join(cur).rstrip())
    return lines


def states(raw):
    """Every progress state drawn, in order."""
    return [m for m in (LINE.match(s.strip()) for s in re.split(r"[\r\n]", raw.decode()))
            if m]


def test_progress_line_in_place(espcap_bin, bench_capture):
    rc, raw, stdout = run_on_pty(espcap_bin, [f"--file={bench_capture}"])
    assert rc == 0, raw.decode(errors="replace")[-2000:]
    # updated in place: several states, each drawn after a \r, none on a line of its own
    drawn = states(raw)
    assert len(drawn) >= 3, f"fewer than 3 progress updates: {raw[-1500:]!r}"
    assert raw.count(b"\respcap: ") >= len(drawn), "progress states not drawn after \\r"
    packets = [int(m.group(7)) for m in drawn]
    pcts = [int(m.group(6)) for m in drawn]
    assert packets == sorted(packets) and pcts == sorted(pcts), (packets, pcts)
    assert any(m.group(9).startswith("ETA ") for m in drawn[:-1])
    # what a person sees at the end: the final state, then the summary, nothing else
    lines = screen(raw)
    assert len(lines) == 2, f"the terminal shows {lines}"
    final, summary = LINE.match(lines[0]), lines[1]
    assert final, f"the last progress state is not on the screen: {lines[0]!r}"
    assert final.group(1) == final.group(2) == "1" and final.group(6) == "100"
    assert final.group(3) == final.group(4) and final.group(9).startswith("in ")
    assert summary.startswith(E.SUMMARY_PREFIX)
    assert not E.summary_problem(summary), summary
    n = int(re.search(r" packets=(\d+)", summary).group(1))
    assert int(final.group(7)) == n == 60000
    # nothing on stdout but documents
    docs = stdout.split(b"\n")
    assert docs.pop() == b""
    assert len(docs) == n
    for d in docs:
        assert isinstance(json.loads(d), dict)
    # no progress state wider than the terminal (it would wrap, and \r not erase it)
    assert all(len(m.group(0)) < 100 for m in drawn), "progress line too long"


def test_progress_fits_a_narrow_terminal(espcap_bin, small_capture):
    rc, raw, _ = run_on_pty(espcap_bin, [f"--file={small_capture}"], cols=50)
    assert rc == 0
    drawn = [s for s in re.split(r"[\r\n]", raw.decode())
             if s.startswith("espcap: ") and "summary" not in s]
    assert drawn and all(len(s.rstrip(" ")) < 50 for s in drawn), drawn


def test_warnings_do_not_mix_with_the_progress_line(espcap_bin, bench_capture, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(bench_capture, d / "a.pcap")
    (d / "b.txt").write_text("not a capture\n")
    shutil.copy(bench_capture, d / "c.pcap")
    rc, raw, stdout = run_on_pty(espcap_bin, [f"--dir={d}"])
    assert rc == 1
    lines = screen(raw)
    assert [l for l in lines if "warning:" in l] == \
        [f"espcap: warning: {d}/b.txt: not a capture file in a format Wireshark reads"], lines
    assert all(l.startswith("espcap: ") for l in lines), lines
    final = LINE.match(lines[-2])
    assert final and final.group(1) == final.group(2) == "3", lines
    drawn = states(raw)
    assert {m.group(1) for m in drawn} >= {"0", "2", "3"}, [m.group(0) for m in drawn]


def test_no_progress_when_documents_go_to_the_terminal(espcap_bin, small_capture):
    """As curl: the progress line would mix with the documents; it is left out."""
    rc, raw, _ = run_on_pty(espcap_bin, [f"--file={small_capture}"], stdout_to_pty=True)
    assert rc == 0
    assert not states(raw) and b"\r" not in raw.replace(b"\r\n", b"\n")
    assert b'"frame_number"' in raw


def test_quiet_turns_the_progress_line_off(espcap_bin, small_capture):
    rc, raw, _ = run_on_pty(espcap_bin, ["--quiet", f"--file={small_capture}"])
    assert rc == 0
    assert screen(raw) == [l for l in screen(raw) if l.startswith(E.SUMMARY_PREFIX)], raw


def test_progress_forced_without_a_terminal(run_espcap, bench_capture):
    """--progress with stderr not a terminal: whole lines, one every few seconds, the last
    one with the final state."""
    res = run_espcap(f"--file={bench_capture}", "--progress", timeout=300)
    assert res.rc == 0, res.describe()
    assert "\r" not in res.stderr
    prog = [l for l in res.stderr_lines if l.startswith("espcap: progress: ")]
    assert prog, res.describe()
    assert all(LINE.match(l) for l in prog), prog
    last = LINE.match(prog[-1])
    assert last.group(9).startswith("in ") and last.group(7) == res.summary["packets"]
    # one line every 5 s: a run of T seconds prints at most T/5 + 1 of them
    assert len(prog) <= res.elapsed / 5 + 1, prog
    # the default without a terminal: no progress at all
    plain = run_espcap(f"--file={bench_capture}", timeout=300)
    assert not [l for l in plain.stderr_lines if "progress" in l]
