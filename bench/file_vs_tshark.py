#!/usr/bin/env python3
"""file_vs_tshark: time `espcap --file` and `tshark -T ek` on the same generated capture.

Both write to /dev/null, both pinned to one core (taskset -c 0 when available), run
alternately several times; prints wall and CPU medians, packets/s and the ratio.
"""
import argparse
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
    args = ap.parse_args()

    espcap = os.path.join(ROOT, "espcap")
    capgen = os.path.join(ROOT, "build", "capgen")
    cap = args.capture
    if not cap:
        cap = os.path.join(ROOT, "build", f"bench-{args.packets}.pcap")
        if not os.path.exists(cap):
            subprocess.run([capgen, "bench", str(args.packets), cap], check=True)
    size = os.path.getsize(cap)
    npk = int(subprocess.run(["capinfos", "-Mc", cap], capture_output=True, text=True)
              .stdout.split("Number of packets:")[1].split()[0])
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    cmds = {
        "espcap": pin + [espcap, "--file=" + cap],
        "tshark -T ek": pin + ["tshark", "-T", "ek", "-r", cap],
    }
    print(f"machine: {machine()}")
    print(f"capture: {cap}: {npk} packets, {size / 1e6:.1f} MB; {args.runs} runs each, alternating,"
          f" {'pinned to core 0' if pin else 'not pinned'}")
    res = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            res[name].append(timed(cmd))
    med = {}
    for name, runs in res.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        med[name] = wall
        print(f"{name:14s} median wall {wall:7.2f} s  cpu {cpu:7.2f} s  {npk / wall:9.0f} packets/s"
              f"  (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    ratio = med["espcap"] / med["tshark -T ek"]
    print(f"ratio espcap/tshark wall time: {ratio:.3f} (goal <= 0.200): espcap is "
          f"{1 / ratio:.1f}x faster")


if __name__ == "__main__":
    main()
