# SPDX-License-Identifier: GPL-2.0-or-later
"""A real N-node search cluster for tests (stdlib only), on loopback ports.

Each node is a JVM of its own, started by tests/node/start-cluster.sh (which
uses tests/node/start-node.sh); nodes keep their HTTP and transport ports and
their data folder, so a killed node can be restarted and rejoin.

Example::

    from helpers.cluster import Cluster, ClusterError

    with Cluster(3, flavor="os3") as c:          # green with 3 nodes, or ClusterError
        c.request(0, "PUT", "/idx", {"settings": {"number_of_replicas": 1}})
        c.request(0, "POST", "/idx/_doc?refresh=true", {"a": 1})
        victim = c.cluster_manager()              # index of the elected cluster manager
        c.kill(victim)                            # SIGKILL
        other = c.alive()[0]
        assert c.request(other, "GET", "/idx/_count")[1]["count"] == 1
        c.restart(victim)                         # same ports and data; back in the cluster
        c.wait_for("green")
    # stop() ran: every node stopped, the temporary folder removed

Attributes: ``urls`` (one per node, also of a killed node), ``n``, ``flavor``,
``dir``; ``pid(i)``, ``alive()``, ``console(i)`` (the end of node i's console).

Flavours: "os2" (OpenSearch 2.19, the default), "os3" (OpenSearch 3.x, on a
Java 21+), "es7" (Elasticsearch 7.17).  See tests/node/README.md.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
START_CLUSTER = NODE_DIR / "start-cluster.sh"
STOP_CLUSTER = NODE_DIR / "stop-cluster.sh"


class ClusterError(Exception):
    """A node or the cluster did not come up; the message has the node's output."""


class Cluster:
    """An N-node cluster started by tests/node/start-cluster.sh.

    n: nodes (default 3). flavor: "os2", "os3", "es7" (None: $ESPCAP_NODE_FLAVOR,
    else os2). base_dir: the cluster's folder (pid files, data; default a new
    temporary folder, removed by stop()). options: launcher options added to every
    node (e.g. ["--replicas", 2]). timeout: seconds for start and restart.
    start=False leaves the starting to start().
    """

    def __init__(self, n=3, flavor=None, base_dir=None, options=(), timeout=300,
                 java_opts=None, start=True):
        self.n = int(n)
        self.flavor = flavor or os.environ.get("ESPCAP_NODE_FLAVOR") or "os2"
        self.options = [str(o) for o in options]
        self.timeout = timeout
        self.java_opts = java_opts
        self._own_dir = base_dir is None
        self.dir = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="espcap-cluster."))
        self.urls = []
        if start:
            self.start()

    # ------------------------------------------------------------------ life cycle

    def _env(self):
        env = os.environ.copy()
        env["ESPCAP_NODE_FLAVOR"] = self.flavor
        if self.java_opts:
            env["ESPCAP_NODE_JAVA_OPTS"] = self.java_opts
        env["ESPCAP_CLUSTER_TIMEOUT"] = str(self.timeout)
        return env

    def _run(self, args, what):
        """Run start-cluster.sh ARGS; its stdout, or ClusterError with its messages."""
        log = self.dir / "start-cluster.log"
        cmd = [str(START_CLUSTER), str(self.dir)] + args
        with open(log, "wb") as err:
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=err, env=self._env(), timeout=self.timeout + 120)
            except subprocess.TimeoutExpired:
                raise ClusterError(f"{what}: {' '.join(cmd)} took more than {self.timeout + 120} s\n"
                                   f"{self._tail(log, 4000)}") from None
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0 or not out.startswith("http://"):
            raise ClusterError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n"
                               f"{self._tail(log, 6000)}")
        return out

    def start(self):
        """Start the cluster (or the nodes of it that are not running); returns self
        once it is green with n nodes."""
        try:
            out = self._run([str(self.n)] + self.options, f"starting a {self.n}-node {self.flavor} cluster")
        except ClusterError:
            self.stop()
            raise
        self.urls = out.splitlines()[-1].split(",")
        return self

    def kill(self, i, sig=signal.SIGKILL):
        """Kill node i (SIGKILL by default) and wait until it is gone."""
        pid = self.pid(i)
        if pid is None:
            raise ClusterError(f"node {i} is not running")
        os.kill(pid, sig)
        deadline = time.monotonic() + 60
        while _exists(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _exists(pid):
            raise ClusterError(f"node {i} (pid {pid}) still runs 60 s after signal {sig}")
        self._pidfile(i).unlink(missing_ok=True)

    def restart(self, i):
        """Start node i again on its ports with its data folder; returns its URL once
        it is back in the cluster (n nodes, health yellow or green)."""
        url = self._run(["--node", str(i)], f"restarting node {i}").splitlines()[-1]
        self.urls[i] = url
        return url

    def stop(self, timeout=30):
        """Stop every node (SIGTERM, SIGKILL after TIMEOUT s); remove the folder if
        this object made it."""
        if self.dir.is_dir():
            subprocess.run([str(STOP_CLUSTER), str(self.dir), str(timeout)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 60)
            if self._own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------ state

    def _pidfile(self, i):
        return self.dir / f"node-{i}.pid"

    def pid(self, i):
        """The PID of node i, or None if it is not running."""
        try:
            pid = int(self._pidfile(i).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _exists(pid) else None

    def alive(self):
        """Indices of the nodes that are running."""
        return [i for i in range(self.n) if self.pid(i) is not None]

    @property
    def url(self):
        """The URL of the first running node."""
        live = self.alive()
        if not live:
            raise ClusterError("no node is running")
        return self.urls[live[0]]

    def console(self, i, chars=4000):
        """The end of node i's console (its latest run), or of its start-up messages."""
        consoles = sorted((self.dir / f"node-{i}" / "tmp").glob("espcap-node.*/console.log"),
                          key=lambda p: p.stat().st_mtime)
        if consoles:
            return self._tail(consoles[-1], chars)
        return self._tail(self.dir / f"node-{i}.log", chars)

    @staticmethod
    def _tail(path, chars):
        try:
            return Path(path).read_text("utf-8", "replace")[-chars:]
        except OSError:
            return f"({path}: nothing)"

    # ------------------------------------------------------------------ HTTP

    def request(self, i, method, path, body=None, timeout=60):
        """(status, parsed JSON or text) of a request to node i."""
        data, headers = None, {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ("application/x-ndjson" if isinstance(body, bytes)
                                       else "application/json")
        req = urllib.request.Request(self.urls[i] + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def health(self, i=None, **params):
        """GET /_cluster/health from node i (default: the first running one)."""
        i = self.alive()[0] if i is None else i
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return self.request(i, "GET", "/_cluster/health" + ("?" + q if q else ""),
                            timeout=120)[1]

    def wait_for(self, status="green", nodes=None, timeout=120):
        """Wait until health is STATUS (or better) with NODES nodes (default: the
        running ones); returns the health answer, or ClusterError."""
        nodes = len(self.alive()) if nodes is None else nodes
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.health(wait_for_status=status, wait_for_nodes=nodes, timeout="5s")
                if isinstance(last, dict) and not last.get("timed_out", True):
                    return last
            except (OSError, IndexError) as e:
                last = repr(e)
            time.sleep(0.5)
        raise ClusterError(f"cluster in {self.dir} not {status} with {nodes} nodes "
                           f"within {timeout} s: {last}")

    def node_names(self, i=None):
        """The names of the nodes in the cluster, as node i sees it."""
        i = self.alive()[0] if i is None else i
        rows = self.request(i, "GET", "/_cat/nodes?format=json&h=name")[1]
        return sorted(r["name"] for r in rows)

    def cluster_manager(self, i=None):
        """The index of the elected cluster manager (node names are espcap-node-I)."""
        i = self.alive()[0] if i is None else i
        state = self.request(i, "GET", "/_cluster/state/master_node,nodes")[1]
        name = state["nodes"][state["master_node"]]["name"]
        return int(name.rsplit("-", 1)[1])


def _exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _self_test(flavor, n):
    """Start N nodes, index with 1 replica, kill the cluster manager, search through
    another node, restart it, check it rejoins; prints 'N passed, N failed'."""
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name} {detail}")

    t0 = time.monotonic()
    try:
        with Cluster(n, flavor=flavor) as c:
            check(f"{n}-node {flavor} cluster green ({time.monotonic() - t0:.0f} s)",
                  c.node_names() == sorted(f"espcap-node-{i}" for i in range(n)), c.node_names())
            c.request(0, "PUT", "/espcap-cluster-py", {"settings": {"number_of_shards": 2}})
            bulk = b"".join(b'{"index":{}}\n{"n":%d}\n' % k for k in range(10))
            st, r = c.request(0, "POST", "/espcap-cluster-py/_bulk?refresh=true", bulk)
            check("bulk-index 10 documents", st == 200 and r.get("errors") is False, r)
            c.wait_for("green", nodes=n)
            victim = c.cluster_manager()
            c.kill(victim)
            other = c.alive()[0]
            st, r = c.request(other, "GET", "/espcap-cluster-py/_count")
            check(f"killed node {victim} (cluster manager): 10 documents via node {other}",
                  st == 200 and r.get("count") == 10, r)
            t1 = time.monotonic()
            c.restart(victim)
            h = c.wait_for("green", nodes=n)
            check(f"node {victim} restarted, green with {n} nodes ({time.monotonic() - t1:.0f} s)",
                  h["number_of_nodes"] == n)
            st, r = c.request(victim, "GET", "/espcap-cluster-py/_count")
            check(f"10 documents via the restarted node {victim}", r.get("count") == 10, r)
    except ClusterError as e:
        check("cluster", False, str(e))
    print(f"{passed} passed, {failed} failed")
    return failed == 0


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="self-test: a cluster, a node killed and restarted")
    ap.add_argument("--flavor", default=None)
    ap.add_argument("-n", type=int, default=3)
    a = ap.parse_args()
    raise SystemExit(0 if _self_test(a.flavor or os.environ.get("ESPCAP_NODE_FLAVOR") or "os2", a.n) else 1)
