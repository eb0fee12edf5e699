#!/usr/bin/env python3
"""index_vs_tshark: documents per second into a real local OpenSearch node.

In the same run, on the same generated capture:
  1. espcap --file=CAPTURE --node=NODE (chunk 1000), timed; its own CPU time per document;
  2. tshark -T ek -r CAPTURE, its output posted with curl to _bulk in chunks of the same
     size. As tshark 4.0 writes it, OpenSearch 2 rejects every document (an action line with
     "_type"; duplicate keys such as "eth_eth_addr" in one object), so the ek stream is
     mended on the way: "_type" removed, duplicate keys merged into arrays (the work a user
     of tshark would have to add); an index template raises the field limit.
Prints documents/s for both and the ratio. Starts its own node (tests/node/start-node.sh)
unless --node is given. A benchmark: it prints figures and never fails on time.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def http(method, url, body=None, ctype="application/json"):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def count(node, pattern):
    http("POST", f"{node}/{pattern}/_refresh")
    st, body = http("GET", f"{node}/{pattern}/_count")
    return json.loads(body).get("count", 0) if st == 200 else 0


def run_espcap(node, cap, chunk, workers):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "espcap"), "--file=" + cap, "--node=" + node,
                        f"--index-prefix=bench-espcap-w{workers}", f"--chunk={chunk}",
                        f"--workers={workers}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    summary = [l for l in p.stderr.splitlines() if "summary:" in l]
    return wall, cpu, p.returncode, summary[-1] if summary else p.stderr[-500:]


def merge_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            out[k] = (out[k] if isinstance(out[k], list) else [out[k]]) + (v if isinstance(v, list) else [v])
        else:
            out[k] = v
    return out


def run_tshark(node, cap, chunk, mend=True):
    http("PUT", f"{node}/_index_template/bench-tshark", json.dumps({
        "index_patterns": ["bench-tshark-*"], "priority": 300,
        "template": {"settings": {"index.mapping.total_fields.limit": 100000,
                                  "index.mapping.depth.limit": 64}}}).encode())
    t0 = time.monotonic()
    ts = subprocess.Popen(["tshark", "-T", "ek", "-r", cap], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    lines, docs, rejected, posts = [], 0, 0, 0

    def post(lines):
        nonlocal rejected, posts
        body = "".join(lines).encode()
        p = subprocess.run(["curl", "-s", "-H", "Content-Type: application/x-ndjson",
                            "-XPOST", f"{node}/_bulk", "--data-binary", "@-"],
                           input=body, capture_output=True)
        posts += 1
        try:
            ans = json.loads(p.stdout)
            rejected += sum(1 for it in ans.get("items", [])
                            for v in it.values() if v.get("status", 0) >= 300)
        except ValueError:
            rejected += len(lines) // 2

    for raw in ts.stdout:
        line = raw.decode("utf-8", "replace")
        if line.startswith('{"index"'):
            # {"index":{"_index":"packets-2024-03-01","_type":"doc"}} -> our prefix, no _type
            meta = json.loads(line)
            day = meta["index"]["_index"].split("-", 1)[1]
            line = json.dumps({"index": {"_index": "bench-tshark-" + day}}) + "\n"
        else:
            docs += 1
            if mend:
                line = json.dumps(json.loads(line, object_pairs_hook=merge_duplicates)) + "\n"
        lines.append(line)
        if len(lines) >= 2 * chunk and not line.startswith('{"index"'):
            post(lines)
            lines = []
    if lines:
        post(lines)
    ts.wait()
    return time.monotonic() - t0, docs, rejected, posts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=100000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--node", help="an existing node; default: start one")
    ap.add_argument("--workers", default="1,2", help="espcap --workers values")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]

    cap = os.path.join(ROOT, "build", f"bench-{args.packets}.pcap")
    if not os.path.exists(cap):
        subprocess.run([os.path.join(ROOT, "build", "capgen"), "bench", str(args.packets), cap],
                       check=True)
    node, pidfile = args.node, None
    if not node:
        pidfile = tempfile.mktemp(prefix="espcap-bench-node-", suffix=".pid")
        node = subprocess.run([os.path.join(ROOT, "tests", "node", "start-node.sh"), pidfile],
                              capture_output=True, text=True, check=True).stdout.strip()
    try:
        for pat in ("bench-espcap-*", "bench-tshark-*"):
            http("DELETE", f"{node}/{pat}")
        print(f"node: {node}; capture: {cap} ({args.packets} packets); chunk {args.chunk}")
        print("(the node runs on the same cores as espcap: the figures share the machine)")
        for w in workers:
            wall, cpu, rc, summary = run_espcap(node, cap, args.chunk, w)
            n = count(node, f"bench-espcap-w{w}-*")
            print(f"espcap --workers={w}: {n} documents in {wall:.2f} s = {n / wall:8.0f} docs/s; "
                  f"exit {rc}; espcap CPU {cpu:.2f} s = {cpu / max(n, 1) * 1e6:.1f} us/document")
            print(f"         {summary}")
        twall, tdocs, trej, posts = run_tshark(node, cap, args.chunk)
        tn = count(node, "bench-tshark-*")
        print(f"tshark -T ek | curl _bulk: {tn} documents indexed of {tdocs} in {twall:.2f} s = "
              f"{tn / twall:8.0f} docs/s; {trej} rejected; {posts} requests")
        if tn:
            print(f"ratio (docs/s espcap / tshark+curl): {(n / wall) / (tn / twall):.2f}")
    finally:
        if pidfile:
            subprocess.run([os.path.join(ROOT, "tests", "node", "stop-node.sh"), pidfile])


if __name__ == "__main__":
    main()
