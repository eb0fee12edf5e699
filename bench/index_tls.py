#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""index_tls: documents per second into a real local OpenSearch node, with and without TLS,
with and without --compress.

Three ways to the node, each with and without --compress, on the same generated capture:
  direct       espcap --node=http://NODE (no proxy)
  nginx-http   through nginx, plain http, basic auth checked by nginx
  nginx-https  through the same nginx over TLS (a CA and certificate made with openssl,
               --cacert), basic auth checked by nginx
nginx is the test suite's proxy (tests/es/tls_proxy.py: keep-alive to the node, bodies
streamed). nginx-http against nginx-https is the cost of TLS; direct against nginx-http is
the cost of the proxy. The configurations run in turn, RUNS rounds, and the medians are
printed as a Markdown table, with the CPU time per document of espcap and of nginx (master
and workers, from /proc) and the bytes espcap sent.
Starts its own node (tests/node/start-node.sh) unless --node is given. A benchmark: it
prints figures and never fails on time.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "es"))

from es_support import Node  # noqa: E402
from tls_proxy import PASSWORD, USER, TlsProxy  # noqa: E402

PREFIX = "bench-tls"


def http(method, url):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def count(node):
    http("POST", f"{node}/{PREFIX}-*/_refresh")
    st, body = http("GET", f"{node}/{PREFIX}-*/_count")
    return json.loads(body).get("count", 0) if st == 200 else 0


def clean(node):
    http("DELETE", f"{node}/{PREFIX}-*")
    http("DELETE", f"{node}/_index_template/espcap-{PREFIX}")


def proc_cpu(root):
    """CPU seconds (user + system) of process ROOT and its children (nginx's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(d) == root or int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def run_espcap(node_url, cap, args, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "espcap"), "--file=" + cap, "--node=" + node_url,
                        f"--index-prefix={PREFIX}", *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, **env})
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    summary = [l for l in p.stderr.splitlines() if "summary:" in l]
    m = re.search(r" bytes=(\d+)", summary[-1]) if summary else None
    return wall, cpu, p.returncode, int(m.group(1)) if m else 0, \
        summary[-1] if summary else p.stderr[-500:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--node", help="an existing node (http://HOST:PORT); default: start one")
    args = ap.parse_args()

    cap = os.path.join(ROOT, "build", f"bench-{args.packets}.pcap")
    if not os.path.exists(cap):
        subprocess.run([os.path.join(ROOT, "build", "capgen"), "bench", str(args.packets), cap],
                       check=True)
    node, pidfile = args.node, None
    work = tempfile.mkdtemp(prefix="espcap-bench-tls-")
    if not node:
        pidfile = os.path.join(work, "node.pid")
        node = subprocess.run([os.path.join(ROOT, "tests", "node", "start-node.sh"), pidfile],
                              capture_output=True, text=True, check=True).stdout.strip()
    proxy = TlsProxy(work, Node(node)).start()
    creds = {"ESPCAP_USER": USER, "ESPCAP_PASSWORD": PASSWORD}
    ways = [("direct", node, [], {}),
            ("nginx-http", proxy.plain, [], creds),
            ("nginx-https", proxy.https, [f"--cacert={proxy.ca}"], creds)]
    configs = [(f"{name}{' --compress' if gz else ''}", url, a + (["--compress"] if gz else []),
                env) for name, url, a, env in ways for gz in (False, True)]
    results = {c[0]: [] for c in configs}
    try:
        print(f"node: {node}; capture: {cap} ({args.packets} packets); {args.runs} rounds; "
              f"espcap defaults (chunk 1000, 2 requests in flight, workers = cores)")
        for r in range(args.runs):
            for name, url, a, env in configs:
                clean(node)
                ng0 = proc_cpu(proxy.web.proc.pid)
                wall, cpu, rc, sent, summary = run_espcap(url, cap, a, env)
                ngx = proc_cpu(proxy.web.proc.pid) - ng0
                n = count(node)
                results[name].append((wall, cpu, n, sent, ngx))
                print(f"round {r + 1} {name:24} {n} docs in {wall:6.2f} s = {n / wall:7.0f} "
                      f"docs/s; CPU espcap {cpu:6.2f} s, nginx {ngx:5.2f} s; "
                      f"sent {sent / 1e6:6.1f} MB; exit {rc}", flush=True)
                if rc != 0 or n != args.packets:
                    print(f"    {summary}")
        print()
        print("| way to the node | median wall (runs) | documents/s | espcap CPU per "
              "document | nginx CPU per document | bytes sent |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, *_ in configs:
            rs = results[name]
            wall = statistics.median(x[0] for x in rs)
            cpu = statistics.median(x[1] for x in rs)
            ngx = statistics.median(x[4] for x in rs)
            n = max(rs[0][2], 1)
            runs = ", ".join(f"{x[0]:.2f}" for x in rs)
            print(f"| {name} | {wall:.2f} s ({runs}) | {n / wall:,.0f} | "
                  f"{cpu / n * 1e6:.0f} us | {ngx / n * 1e6:.0f} us | "
                  f"{statistics.median(x[3] for x in rs) / 1e6:.1f} MB |")
    finally:
        clean(node)
        proxy.stop()
        if pidfile:
            subprocess.run([os.path.join(ROOT, "tests", "node", "stop-node.sh"), pidfile])


if __name__ == "__main__":
    main()
