#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dir_memory: the peak memory of `espcap --dir` over many captures, all processes together.

`/usr/bin/time -v` on espcap shows the reader only; the dissection workers and their zygote
are other processes. This samples the proportional set size (PSS: shared pages counted
once, split between the processes that share them) of espcap's whole process tree every
50 ms and prints the peak, with the wall time and the reader's own peak RSS.

  python3 bench/dir_memory.py [--dir ../shared/pcaps/corpus] [--workers 1,2]
"""

import argparse
import os
import resource
import sys
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import procs as P  # noqa: E402


def run(espcap, d, workers):
    t0 = time.monotonic()
    p = subprocess.Popen([espcap, f"--dir={d}", f"--workers={workers}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while p.poll() is None:
        peak = max(peak, P.pss_kb(P.tree(p.pid)))
        time.sleep(0.05)
    err = p.stderr.read().decode(errors="replace")
    wall = time.monotonic() - t0
    summary = next((l for l in err.splitlines() if l.startswith("espcap: summary:")), "")
    return wall, peak, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(ROOT.parent / "shared" / "pcaps" / "corpus"))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--espcap", default=str(ROOT / "espcap"))
    args = ap.parse_args()
    files = sum(1 for f in Path(args.dir).iterdir() if f.is_file())
    print(f"espcap --dir={args.dir} ({files} files) > /dev/null; {os.cpu_count()} CPUs")
    for w in (int(x) for x in args.workers.split(",")):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        wall, peak, summary = run(args.espcap, args.dir, w)
        reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"--workers={w}: {wall:6.1f} s, peak PSS of all processes {peak / 1024:6.0f} MB "
              f"(largest RSS of a child so far {max(before, reader) / 1024:.0f} MB)")
        print(f"    {summary}")


if __name__ == "__main__":
    main()
