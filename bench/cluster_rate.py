#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cluster_rate: documents per second into one OpenSearch node and into a three-node cluster.

In the same run, on the same generated capture (build/capgen bench N), with the same engine
(--flavor, default os3):
  1. one node (tests/node/start-node.sh), espcap --node=THAT --replicas=0;
  2. a three-node cluster (tests/node/start-cluster.sh), espcap --node=A,B,C (requests in
     turn over the three) with --replicas=1 (every document written twice), then with
     --replicas=0.
Each is run RUNS times into fresh indices; the best and the median are printed, with the
load average before and after (the machines here are shared: figures move with the load).
A benchmark: it prints figures and never fails on time.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from helpers.cluster import Cluster  # noqa: E402


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def count(url, pattern):
    http("POST", f"{url}/{pattern}/_refresh")
    st, body = http("GET", f"{url}/{pattern}/_count")
    return json.loads(body).get("count", 0) if st == 200 else 0


def run_espcap(nodes, cap, prefix, replicas, chunk, in_flight):
    first = nodes.split(",")[0]
    http("DELETE", f"{first}/{prefix}-*")
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "espcap"), "--file=" + cap, "--node=" + nodes,
                        f"--index-prefix={prefix}", f"--replicas={replicas}",
                        f"--chunk={chunk}", f"--in-flight={in_flight}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    n = count(first, f"{prefix}-*")
    http("DELETE", f"{first}/{prefix}-*")
    return wall, n, p.returncode


def measure(label, nodes, cap, n, args, runs):
    rates = []
    for k in range(runs):
        slug = "-".join("".join(ch if ch.isalnum() else " " for ch in label).split())
        wall, got, rc = run_espcap(nodes, cap, f"bench-{slug}-{k}", args.replicas_for[label],
                                   args.chunk, args.in_flight)
        if rc != 0 or got != n:
            print(f"  {label}: run {k}: exit {rc}, {got} of {n} documents", flush=True)
        rates.append(n / wall)
        print(f"  {label}: run {k}: {wall:.2f} s, {n / wall:,.0f} documents/s", flush=True)
    return max(rates), statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=40000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--flavor", default="os3")
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--in-flight", type=int, default=2)
    args = ap.parse_args()
    args.replicas_for = {"one node": 0, "three nodes, replicas 1": 1,
                         "three nodes, replicas 0": 0}
    cap = os.path.join(ROOT, "build", f"bench-{args.packets}.pcap")
    if not os.path.exists(cap):
        subprocess.run([os.path.join(ROOT, "build", "capgen"), "bench", str(args.packets), cap],
                       check=True)
    n = args.packets
    print(f"load average before: {os.getloadavg()}; {os.cpu_count()} cores; {args.flavor}; "
          f"{n} documents; chunk {args.chunk}, {args.in_flight} in flight", flush=True)
    results = {}
    work = tempfile.mkdtemp(prefix="espcap-bench-cluster.")
    env = dict(os.environ, ESPCAP_NODE_FLAVOR=args.flavor)
    pid = os.path.join(work, "one.pid")
    p = subprocess.run([os.path.join(ROOT, "tests", "node", "start-node.sh"), pid],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"the node did not start: {p.stderr[-2000:]}")
    url = p.stdout.strip().splitlines()[-1]
    try:
        results["one node"] = measure("one node", url, cap, n, args, args.runs)
    finally:
        subprocess.run([os.path.join(ROOT, "tests", "node", "stop-node.sh"), pid],
                       capture_output=True)
    os.makedirs(os.path.join(work, "cluster"))
    try:
        with Cluster(3, flavor=args.flavor, base_dir=os.path.join(work, "cluster"),
                     java_opts="-Xms256m -Xmx512m", timeout=600) as c:
            nodes = ",".join(c.urls)
            for label in ("three nodes, replicas 1", "three nodes, replicas 0"):
                results[label] = measure(label, nodes, cap, n, args, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    print("| target | best documents/s | median documents/s |")
    print("| --- | --- | --- |")
    for label, (best, med) in results.items():
        print(f"| {label} | {best:,.0f} | {med:,.0f} |")


if __name__ == "__main__":
    main()
