#!/usr/bin/env python3
"""file_vs_tshark: time `espcap --file` with one and with two dissection workers, and
`tshark -T ek`, on the same capture.

All write to /dev/null and have the whole machine (tshark uses one core; espcap a reader and
N workers); they run alternately several times. Prints wall and CPU medians, packets/s, how
the packets were spread over the workers (--summary-json), and the ratios: --workers=2
against --workers=1, and each against tshark.

  python3 bench/file_vs_tshark.py [--packets 200000] [--runs 3]
  python3 bench/file_vs_tshark.py --http 100   # the seed's HTTP capture, 100 copies (mergecap -a)
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    """(wall, cpu of the whole process tree) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(os.devnull, "wb") as devnull:
        rc = subprocess.run(cmd, stdout=devnull, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc not in (0, 1):
        sys.exit(f"bench: {cmd[0]} exited {rc}")
    return wall, cpu


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}; {tshark}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--capture", help="use this capture instead of generating one")
    ap.add_argument("--http", type=int, metavar="COPIES",
                    help="use ../shared/pcaps/test_http.pcap, COPIES copies one after the other")
    ap.add_argument("--workers", default="1,2", help="espcap's --workers values (default 1,2)")
    args = ap.parse_args()

    espcap = os.path.join(ROOT, "espcap")
    capgen = os.path.join(ROOT, "build", "capgen")
    cap = args.capture
    if args.http:
        src = os.path.join(os.path.dirname(ROOT), "shared", "pcaps", "test_http.pcap")
        cap = os.path.join(ROOT, "build", f"bench-http-x{args.http}.pcap")
        if not os.path.exists(cap):
            subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", cap] + [src] * args.http,
                           check=True)
    if not cap:
        cap = os.path.join(ROOT, "build", f"bench-{args.packets}.pcap")
        if not os.path.exists(cap):
            subprocess.run([capgen, "bench", str(args.packets), cap], check=True)
    size = os.path.getsize(cap)
    npk = int(subprocess.run(["capinfos", "-Mc", cap], capture_output=True, text=True)
              .stdout.split("Number of packets:")[1].split()[0])
    workers = [int(w) for w in args.workers.split(",")]
    spread_file = os.path.join(ROOT, "build", "bench-summary.json")
    cmds = {f"espcap --workers={w}": [espcap, f"--file={cap}", f"--workers={w}"]
            for w in workers}
    cmds["tshark -T ek"] = ["tshark", "-T", "ek", "-r", cap]
    print(f"machine: {machine()}")
    print(f"capture: {cap}: {npk} packets, {size / 1e6:.1f} MB; {args.runs} runs each, "
          f"alternating, not pinned ({os.cpu_count()} cores)")
    res = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            res[name].append(timed(cmd))
    med = {}
    for name, runs in res.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        med[name] = wall
        print(f"{name:20s} median wall {wall:7.2f} s  cpu {cpu:7.2f} s  {npk / wall:9.0f} packets/s"
              f"  (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    for w in workers:
        subprocess.run([espcap, f"--file={cap}", f"--workers={w}", f"--summary-json={spread_file}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(spread_file) as f:
            per = json.load(f)["worker_packets"]
        print(f"--workers={w}: packets per worker {per} "
              f"(the busiest has {max(per) / max(1, sum(per)):.0%})")
    t = med["tshark -T ek"]
    for w in workers:
        name = f"espcap --workers={w}"
        print(f"ratio {name}/tshark wall time: {med[name] / t:.3f} (goal <= 0.11 with 2 workers):"
              f" {t / med[name]:.1f}x faster")
    if 1 in workers and 2 in workers:
        print(f"speed-up of --workers=2 over --workers=1: "
              f"{med['espcap --workers=1'] / med['espcap --workers=2']:.2f}x (goal >= 1.8)")


if __name__ == "__main__":
    main()
