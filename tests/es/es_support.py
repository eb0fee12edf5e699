# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the tests/es suite: a search node over HTTP (stdlib only), the
summary of an index-mode run, mapping checks, a recording HTTP proxy."""

import gzip
import http.client
import http.server
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import espcap as E  # noqa: E402
from helpers import node_http  # noqa: E402

NODE_DIR = E.ROOT / "tests" / "node"
START = NODE_DIR / "start-node.sh"
STOP = NODE_DIR / "stop-node.sh"

# The summary keys of index mode, in the order of the contract (issue 3).
ES_SUMMARY_KEYS = ["files", "failed_files", "packets", "documents", "indexed",
                   "already_present", "retried", "rejected", "cut_values", "bytes",
                   "elapsed", "rate"]


# --------------------------------------------------------------------------- nodes

class NodeStartError(Exception):
    pass


class Node:
    """A search node reachable over HTTP (stdlib only)."""

    def __init__(self, url, pidfile=None, flavor="os2", owned=True):
        self.url = url.rstrip("/")
        self.pidfile = pidfile
        self.flavor = flavor
        self.owned = owned
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port

    @property
    def hostport(self):
        return f"{self.host}:{self.port}"

    def request(self, method, path, body=None, timeout=60, ok=(200, 201)):
        return node_http.request(self.url, method, path, body, timeout, ok)

    def info(self):
        return self.request("GET", "/")[1]

    def refresh(self, prefix):
        self.request("POST", f"/{prefix}-*/_refresh")

    def count(self, prefix, query=None, refresh=True):
        """Documents in <prefix>-* (refreshed first), optionally matching QUERY."""
        if refresh:
            self.refresh(prefix)
        body = {"query": query} if query is not None else None
        return self.request("POST" if body else "GET", f"/{prefix}-*/_count", body)[1]["count"]

    def indices(self, prefix, refresh=True):
        """{index name: document count} of the indices <prefix>-*."""
        if refresh:
            self.refresh(prefix)
        _, rows = self.request("GET", f"/_cat/indices/{prefix}-*?format=json&h=index")
        return {r["index"]: self.request("GET", f"/{r['index']}/_count")[1]["count"]
                for r in rows}

    def mapping(self, prefix):
        return self.request("GET", f"/{prefix}-*/_mapping")[1]

    def clean(self, prefix):
        """Remove what an earlier run left for PREFIX (indices, espcap's template)."""
        _, rows = self.request("GET", f"/_cat/indices/{prefix}-*?format=json&h=index")
        names = [r["index"] for r in rows]
        for i in range(0, len(names), 50):
            self.request("DELETE", "/" + ",".join(names[i:i + 50]))
        self.request("DELETE", f"/_index_template/espcap-{prefix}", ok=None)

    def stop(self, timeout=30):
        """Stop the node (if this session started it) and wait until it is gone."""
        if self.owned and self.pidfile:
            subprocess.run([str(STOP), str(self.pidfile), str(timeout)],
                           capture_output=True, timeout=timeout + 30)

    def stop_async(self, timeout=30):
        """Start stopping the node; returns the stop-node.sh process (or None)."""
        if self.owned and self.pidfile:
            return subprocess.Popen([str(STOP), str(self.pidfile), str(timeout)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        return None


class NodeLauncher:
    """start-node.sh running in the background; result() waits for its Node."""

    def __init__(self, pidfile, *options, flavor=None, timeout=240):
        env = os.environ.copy()
        if flavor:
            env["ESPCAP_NODE_FLAVOR"] = flavor
        self.pidfile = Path(pidfile)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.flavor = flavor or os.environ.get("ESPCAP_NODE_FLAVOR") or "os2"
        self.timeout = timeout
        self.cmd = [str(START), str(pidfile)] + [str(o) for o in options]
        # files, not pipes: a Maven build may say a lot before anyone reads
        self.out = self.pidfile.with_suffix(".start.out")
        self.err = self.pidfile.with_suffix(".start.err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=o,
                                         stderr=e, env=env)
        self.t0 = time.monotonic()
        self._node = None

    def result(self):
        """The started Node; NodeStartError if start-node.sh failed."""
        if self._node is not None:
            return self._node
        left = max(1.0, self.timeout - (time.monotonic() - self.t0))
        try:
            rc = self.proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            subprocess.run([str(STOP), str(self.pidfile)], capture_output=True, timeout=60)
            raise NodeStartError(f"{' '.join(self.cmd)} took more than {self.timeout}s: "
                                 f"{self.err.read_text('utf-8', 'replace')[-2000:]}") from None
        lines = self.out.read_text("utf-8", "replace").strip().splitlines()
        if rc != 0 or not lines or not lines[-1].startswith("http://"):
            raise NodeStartError(f"{' '.join(self.cmd)} failed (exit {rc}):\n"
                                 f"{self.err.read_text('utf-8', 'replace')[-3000:]}")
        self._node = Node(lines[-1], pidfile=self.pidfile, flavor=self.flavor)
        return self._node

    def discard(self):
        """Stop whatever this launcher started (used when nobody asked for it)."""
        try:
            self.result().stop()
        except NodeStartError:
            pass


def start_node(pidfile, *options, flavor=None, timeout=240):
    """Start a test node with start-node.sh; return a Node. NodeStartError on failure."""
    return NodeLauncher(pidfile, *options, flavor=flavor, timeout=timeout).result()


# --------------------------------------------------------------------------- naming

def prefix_for(name):
    """An index prefix from a test name: lower case, [a-z0-9-] only."""
    p = "t-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return p[:60].rstrip("-")


# --------------------------------------------------------------------------- espcap runs

def summary_ints(res):
    """The summary of an index-mode run as {key: int} (elapsed/rate dropped).
    AssertionError if it lacks one of the index-mode keys."""
    s = res.summary
    assert s is not None, f"no summary line\n{res.describe()}"
    missing = [k for k in ES_SUMMARY_KEYS if k not in s]
    assert not missing, f"summary lacks {missing}: {res.summary_line}\n{res.describe()}"
    return {k: int(v) for k, v in s.items() if v.isdigit()}


def summary_from_text(stderr):
    """{key: int} of the last summary line in a stderr text (or None)."""
    lines = [l for l in stderr.splitlines() if l.startswith(E.SUMMARY_PREFIX)]
    if not lines:
        return None
    out = {}
    for tok in lines[-1][len(E.SUMMARY_PREFIX):].split():
        k, _, v = tok.partition("=")
        if v.isdigit():
            out[k] = int(v)
    return out


class Indexed:
    """One capture indexed once per session (shared by several tests)."""

    def __init__(self, node, prefix, path, result, workdir):
        self.node, self.prefix, self.path, self.result = node, prefix, path, result
        self.workdir = workdir


def packet_dates(tshark_fields_cached, path):
    """Counter of the packets' UTC dates (YYYY-MM-DD), from tshark's frame.time_epoch."""
    rows = tshark_fields_cached(path, ["frame.time_epoch"])
    out = Counter()
    for r in rows:
        t = float(r["frame.time_epoch"][0])
        out[datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")] += 1
    return out


def wait_for_count(node, prefix, at_least, proc=None, timeout=120, interval=0.5):
    """Poll <prefix>-* until it holds AT_LEAST documents; return the count.
    Returns early (with the count so far) if PROC has exited."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        try:
            n = node.count(prefix)
        except (AssertionError, OSError):
            n = 0
        if n >= at_least or (proc is not None and proc.poll() is not None):
            return n
        time.sleep(interval)
    return n


# --------------------------------------------------------------------------- mappings

def mapping_leaves(mapping_answer):
    """Yield (index, dotted field path, mapping dict) of every leaf field."""
    def walk(props, path, index):
        for k, v in props.items():
            p = path + [k]
            if "properties" in v:
                yield from walk(v["properties"], p, index)
            else:
                yield index, ".".join(p), v
    for index, m in mapping_answer.items():
        yield from walk(m["mappings"].get("properties", {}), [], index)


def field_of(path):
    """The Wireshark field name behind a mapped path under layers, or None.
    layers.<layer>.<field name>[._value]."""
    parts = path.split(".")
    if len(parts) < 3 or parts[0] != "layers":
        return None
    name = ".".join(parts[2:])
    if name.endswith("._value"):
        name = name[:-len("._value")]
    return name


INT_TYPES = {"FT_INT8", "FT_INT16", "FT_INT24", "FT_INT32", "FT_INT40", "FT_INT48",
             "FT_INT56", "FT_INT64", "FT_UINT8", "FT_UINT16", "FT_UINT24", "FT_UINT32",
             "FT_UINT40", "FT_UINT48", "FT_UINT56", "FT_FRAMENUM"}


def expected_type(ft, has_unsigned_long=True):
    """The mapping type the contract asks for a Wireshark type (None: not checked)."""
    if ft in ("FT_IPv4", "FT_IPv6"):
        return "ip"
    if ft in INT_TYPES:
        return "long"
    if ft == "FT_UINT64":
        return "unsigned_long" if has_unsigned_long else "double"
    if ft == "FT_BOOLEAN":
        return "boolean"
    if ft in ("FT_DOUBLE", "FT_FLOAT", "FT_RELATIVE_TIME"):
        return "double"
    if ft == "FT_ABSOLUTE_TIME":
        return "date"
    if ft in ("FT_STRING", "FT_STRINGZ", "FT_STRINGZPAD", "FT_STRINGZTRUNC",
              "FT_UINT_STRING", "FT_ETHER", "FT_BYTES", "FT_OID", "FT_GUID"):
        return "keyword"
    return None


def mapping_problems(mapping_answer, field_types, has_unsigned_long=True):
    """Mapped layer fields whose type is not the one their Wireshark type calls for,
    and any sign of dynamic mapping (a 'float' is what dynamic mapping makes of a
    JSON fraction; espcap always says 'double')."""
    bad = []
    for index, path, m in mapping_leaves(mapping_answer):
        t = m.get("type")
        if t == "float":
            bad.append(f"{index}: {path} is float (dynamically mapped?)")
            continue
        name = field_of(path)
        if name is None or name not in field_types:
            continue
        want = expected_type(field_types[name], has_unsigned_long)
        if want is not None and t != want:
            bad.append(f"{index}: {path} ({field_types[name]}) is {t}, not {want}")
    return bad


# --------------------------------------------------------------------------- a recording proxy

class RecordingProxy:
    """A small HTTP proxy in front of a node that records every request
    (method, path, headers, body) and forwards it unchanged.

    FAULT, if given, is called as fault(method, path) before forwarding; it may
    return None (forward), an HTTP status (answered by the proxy, with a JSON
    error body, not forwarded) or "reset" (the connection is reset, no answer)."""

    def __init__(self, target, port=0, fault=None):
        self.target = target
        self.requests = []
        self.faults = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                with proxy.lock:
                    proxy.requests.append((self.command, self.path,
                                           {k.lower(): v for k, v in self.headers.items()},
                                           body))
                action = fault(self.command, self.path) if fault else None
                if action is not None:
                    with proxy.lock:
                        proxy.faults.append((self.command, self.path, action))
                if action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if isinstance(action, int):
                    data = json.dumps({"error": {"type": "injected", "reason": "by the test"},
                                       "status": action}).encode()
                    self.send_response(action)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                fwd = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection", "content-length",
                                            "transfer-encoding", "expect", "keep-alive")}
                conn = http.client.HTTPConnection(proxy.target.host, proxy.target.port,
                                                  timeout=120)
                try:
                    conn.request(self.command, self.path, body=body if body else None,
                                 headers=fwd)
                    r = conn.getresponse()
                    data = r.read()
                    status, rheaders = r.status, r.getheaders()
                finally:
                    conn.close()
                self.send_response(status)
                for k, v in rheaders:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _read_chunked(self):
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def body_text(headers, body):
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        return body.decode("utf-8", "replace")
