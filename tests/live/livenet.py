# SPDX-License-Identifier: GPL-2.0-or-later
"""Network namespaces, veth pairs and small traffic tools for espcap's live tests.

Everything here talks only to loopback or to the addresses of the namespaces it
creates itself (10.199.X.0/30, inside those namespaces only).  No name is ever
resolved: every address is numeric.

Sockets can be made *inside* a namespace without running a process there
(`netns_socket`): a short-lived thread enters the namespace with setns(2),
creates the socket and goes back; the socket stays in that namespace for good.
So the test process itself can send from namespace b, serve DNS and HTTP in
namespace a, and relay HTTP from namespace a to a search node on the host's
loopback (`Relay`), while espcap runs in namespace a under `ip netns exec`.
"""

import ctypes
import errno
import http.server
import json
import os
import selectors
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from helpers import node_http  # tests/ is on sys.path (conftest, bench)

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


# --------------------------------------------------------------------------- checks

def live_problem():
    """Why live tests cannot run here (a reason string), or None."""
    if os.geteuid() != 0:
        return "live capture tests need root (network namespaces, veth pairs, libpcap)"
    if shutil.which("ip") is None:
        return "live capture tests need iproute2's `ip` (not found)"
    try:
        p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`ip netns` is unavailable: {e}"
    if p.returncode != 0:
        return f"`ip netns` is unavailable: {p.stderr.strip()[:300]}"
    if not hasattr(_libc, "setns"):
        return "the C library has no setns()"
    return None


def run(cmd, timeout=30, check=True):
    """Run a short command; CalledProcessError carries its stderr."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): "
                           f"{p.stderr.strip()[:800]}")
    return p


# --------------------------------------------------------------------------- namespaces

def in_netns(ns, fn, timeout=10):
    """Call fn() in a thread that has entered network namespace NS; return its result."""
    box = {}

    def body():
        own = target = -1
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(str(NETNS_DIR / ns), os.O_RDONLY)
            if _libc.setns(target, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns({ns}): {os.strerror(e)}")
            try:
                box["value"] = fn()
            finally:
                # The thread ends right after; going back is only tidiness.
                _libc.setns(own, CLONE_NEWNET)
        except BaseException as e:  # handed to the caller
            box["error"] = e
        finally:
            for fd in (own, target):
                if fd >= 0:
                    os.close(fd)

    t = threading.Thread(target=body, name=f"netns-{ns}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"entering namespace {ns} took more than {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def netns_socket(ns, family=socket.AF_INET, type=socket.SOCK_DGRAM, bind=None):
    """A socket that lives in namespace NS (optionally bound there)."""
    def make():
        s = socket.socket(family, type)
        try:
            if bind is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(bind)
        except BaseException:
            s.close()
            raise
        return s
    return in_netns(ns, make)


class Lab:
    """Two namespaces joined by a veth pair: A (10.199.X.1, veth-a) and B (.2, veth-b).

    Names carry a per-session token so that parallel sessions do not collide; the
    veth ends are created directly inside their namespaces, so their names never
    meet the host's interfaces.
    """

    IF_A = "veth-a"
    IF_B = "veth-b"

    def __init__(self, token, subnet=None):
        self.token = token
        self.ns_a = f"espcap-ns-a-{token}"
        self.ns_b = f"espcap-ns-b-{token}"
        x = subnet if subnet is not None else 1 + os.getpid() % 250
        self.subnet = f"10.199.{x}.0/30"
        self.addr_a = f"10.199.{x}.1"
        self.addr_b = f"10.199.{x}.2"
        self.created = []
        self.procs = []

    def setup(self):
        try:
            for ns in (self.ns_a, self.ns_b):
                run(["ip", "netns", "add", ns])
                self.created.append(ns)
            run(["ip", "link", "add", self.IF_A, "netns", self.ns_a, "type", "veth",
                 "peer", "name", self.IF_B, "netns", self.ns_b])
            for ns, ifname, addr in ((self.ns_a, self.IF_A, self.addr_a),
                                     (self.ns_b, self.IF_B, self.addr_b)):
                # no IPv6 chatter (DAD, router solicitations) on the test link
                for conf in ("all", "default", "lo", ifname):
                    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                         f"net.ipv6.conf.{conf}.disable_ipv6=1"], check=False)
                run(["ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", ifname])
                run(["ip", "-n", ns, "link", "set", ifname, "up"])
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
            self.wait_link()
        except BaseException:
            self.teardown()
            raise
        return self

    def wait_link(self, timeout=10):
        """Wait until both ends are up (carrier) and A answers from B."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = run(["ip", "-n", self.ns_a, "-o", "link", "show", self.IF_A], check=False)
            if "LOWER_UP" in p.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.IF_A} in {self.ns_a} did not come up within {timeout}s")

    def exec_args(self, ns, args):
        return ["ip", "netns", "exec", ns] + [str(a) for a in args]

    def add_down_veth(self, name_a="vdown-a", name_b="vdown-b"):
        """A second veth pair in A, left down (its peer in B)."""
        run(["ip", "link", "add", name_a, "netns", self.ns_a, "type", "veth",
             "peer", "name", name_b, "netns", self.ns_b])
        return name_a

    def teardown(self):
        for p in self.procs:
            stop_process(p)
        for ns in reversed(self.created):
            run(["ip", "netns", "del", ns], check=False)
        self.created = []


def stop_process(p, timeout=10):
    """End a Popen we started: SIGTERM, wait, SIGKILL."""
    if p.poll() is not None:
        return
    try:
        p.terminate()
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------- markers

def marker(tag, i):
    return f"ESPCAP-LIVE:{tag}:{i:06d}".encode()


def hex_to_bytes(colon_hex):
    """'4d:41' -> b'MA' (espcap writes bytes as colon-separated hex)."""
    if not colon_hex:
        return b""
    return bytes(int(h, 16) for h in colon_hex.split(":"))


def doc_payload(doc):
    """The payload of a plain UDP datagram's document (data.data) as bytes, else None
    (an ICMP error quoting a datagram does not count)."""
    if not str(doc.get("protocols", "")).endswith("ip:udp:data") or \
            ":icmp:" in str(doc.get("protocols", "")):
        return None
    data = (doc.get("layers") or {}).get("data") or {}
    v = data.get("data.data")
    if isinstance(v, list):  # never expected for one datagram
        v = v[0] if v else None
    if not isinstance(v, str):
        return None
    try:
        return hex_to_bytes(v)
    except ValueError:
        return None


class UdpSender:
    """Sends marker datagrams from namespace NS to (addr, port)."""

    def __init__(self, ns, addr, port):
        self.sock = netns_socket(ns, socket.AF_INET, socket.SOCK_DGRAM)
        self.dest = (addr, port)
        self.sent = []

    def send(self, payload, record=True):
        self.sock.sendto(payload, self.dest)
        if record:
            self.sent.append(payload)

    def close(self):
        self.sock.close()


class PacedSender(threading.Thread):
    """Sends marker datagrams at RATE per second until stopped (at most MAX, at most
    MAX_SECONDS)."""

    def __init__(self, ns, addr, port, tag, rate=200, max_count=60000, max_seconds=180):
        super().__init__(name=f"sender-{tag}", daemon=True)
        self.sender = UdpSender(ns, addr, port)
        self.tag = tag
        self.rate = rate
        self.max_count = max_count
        self.max_seconds = max_seconds
        self._stop_evt = threading.Event()
        self.error = None

    @property
    def sent(self):
        return self.sender.sent

    def run(self):
        t0 = time.monotonic()
        try:
            for i in range(self.max_count):
                if self._stop_evt.is_set() or time.monotonic() - t0 > self.max_seconds:
                    break
                self.sender.send(marker(self.tag, i))
                due = t0 + (i + 1) / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    self._stop_evt.wait(delay)
        except OSError as e:
            self.error = e

    def stop(self, timeout=10):
        self._stop_evt.set()
        self.join(timeout)
        self.sender.close()
        return list(self.sent)


# --------------------------------------------------------------------------- espcap

class LiveRun:
    """One espcap started in a namespace, stdout and stderr going to files."""

    def __init__(self, lab_or_none, ns, binary, args, workdir, name="espcap"):
        self.args = [str(a) for a in args]
        self.out_path = Path(workdir) / f"{name}.stdout"
        self.err_path = Path(workdir) / f"{name}.stderr"
        cmd = [str(binary)] + self.args
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        self.cmd = cmd
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err)
        if lab_or_none is not None:
            lab_or_none.procs.append(self.proc)

    def stderr(self):
        try:
            return self.err_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, text, timeout=60):
        """Wait until stderr holds TEXT; AssertionError if espcap ends or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stderr():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"espcap ended (status {self.proc.returncode}) before "
                                     f"saying {text!r}:\n{self.stderr()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError(f"espcap did not say {text!r} within {timeout}s:\n"
                             f"{self.stderr()[-2000:]}")

    def wait_ready(self, timeout=90):
        self.wait_for("capturing on", timeout)

    def signal(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def finish(self, timeout=60):
        """Wait for the end (killing it after TIMEOUT); return a helpers.espcap.Result."""
        from helpers import espcap as E
        try:
            self.proc.wait(timeout)
            hung = False
        except subprocess.TimeoutExpired:
            hung = True
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()
        self._err.close()
        res = E.Result(self.args, self.proc.returncode, self.out_path.read_bytes(),
                       self.stderr(), time.monotonic() - self.t0)
        if hung:
            raise AssertionError(f"espcap did not end within {timeout}s and was killed:\n"
                                 f"{res.describe()}")
        return res

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for f in (self._out, self._err):
            if not f.closed:
                f.close()


def nudge_payload(tag, i):
    return f"ESPCAP-NUDGE:{tag}:{i}".encode()


def is_nudge(payload):
    return payload is not None and payload.startswith(b"ESPCAP-NUDGE:")


def stop_live(run, nudger=None, tag="", sig=signal.SIGINT, grace=3.0, timeout=120):
    """Signal RUN and wait for its end.

    A live capture should end on the signal by itself.  If it is still running
    after GRACE seconds and NUDGER (a UdpSender matching the run's filter) is
    given, one nudge datagram is sent every 0.5 s until it ends (the nudges are
    recognisable: is_nudge()).  Returns (Result, nudges sent).
    """
    run.signal(sig)
    t0 = time.monotonic()
    nudges = 0
    while run.proc.poll() is None and time.monotonic() - t0 < timeout:
        if nudger is not None and time.monotonic() - t0 >= grace and nudges < 200:
            nudger.send(nudge_payload(tag, nudges), record=False)
            nudges += 1
            time.sleep(0.5)
        else:
            time.sleep(0.05)
    remaining = max(5.0, timeout - (time.monotonic() - t0))
    return run.finish(timeout=remaining), nudges


def capture_stats(stderr):
    """The key=value pairs of 'espcap: capture: ...', or None."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("espcap: capture: "):
            out = {}
            for tok in line[len("espcap: capture: "):].split():
                k, sep, v = tok.partition("=")
                if sep:
                    out[k] = v
            return out
    return None


def summary_stats(stderr):
    for line in reversed(stderr.splitlines()):
        if line.startswith("espcap: summary: "):
            out = {}
            for tok in line[len("espcap: summary: "):].split():
                k, sep, v = tok.partition("=")
                if sep:
                    out[k] = v
            return out
    return None


# --------------------------------------------------------------------------- servers

def _dns_name(packet, off):
    labels = []
    for _ in range(128):
        n = packet[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(packet[off:off + n].decode("ascii"))
        off += n
    raise ValueError("name too long")


def dns_query(qid, name, qtype=1):
    head = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(l)]) + l.encode("ascii") for l in name.split(".")) + b"\0"
    return head + q + struct.pack("!HH", qtype, 1)


class DnsResponder(threading.Thread):
    """Answers every A query for any name with ANSWER_ADDR (UDP, ADDR:PORT in namespace
    NS); other query types get an empty answer."""

    def __init__(self, ns, addr, answer_addr, port=53):
        super().__init__(name="dns-responder", daemon=True)
        self.sock = netns_socket(ns, socket.AF_INET, socket.SOCK_DGRAM, bind=(addr, port))
        self.sock.settimeout(0.2)
        self.answer = socket.inet_aton(answer_addr)
        self.answer_addr = answer_addr
        self.questions = []
        self._stop_evt = threading.Event()

    def run(self):
        deadline = time.monotonic() + 600
        while not self._stop_evt.is_set() and time.monotonic() < deadline:
            try:
                pkt, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                qid, flags, qd = struct.unpack("!HHH", pkt[:6])
                name, end = _dns_name(pkt, 12)
                qtype, qclass = struct.unpack("!HH", pkt[end:end + 4])
            except (ValueError, struct.error, IndexError, UnicodeDecodeError):
                continue
            self.questions.append(name)
            question = pkt[12:end + 4]
            answers = 1 if qtype == 1 else 0
            reply = struct.pack("!HHHHHH", qid, 0x8180, 1, answers, 0, 0) + question
            if answers:
                reply += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + self.answer
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                pass

    def stop(self):
        self._stop_evt.set()
        self.join(5)
        self.sock.close()


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = f"espcap live test: {self.path}\n".encode()
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _NsHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def server_bind(self):
        # http.server would call getfqdn() (a DNS look-up): never resolve names here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]


class HttpServer:
    """Python's http.server on (addr, port) in namespace NS, served by a thread for at
    most MAX_SECONDS."""

    def __init__(self, ns, addr, port=8080, max_seconds=600):
        self.server = _NsHTTPServer((addr, port), _QuietHandler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = netns_socket(ns, socket.AF_INET, socket.SOCK_STREAM)
        self.server.paths = []
        self.server.timeout = 0.1
        self.server.server_bind()
        self.server.server_activate()
        self._stop_evt = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self.thread = threading.Thread(target=self._serve, name="http-server", daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop_evt.is_set() and time.monotonic() < self._deadline:
            self.server.handle_request()  # returns after at most 0.1 s without a client

    @property
    def paths(self):
        return self.server.paths

    def stop(self):
        self._stop_evt.set()
        self.thread.join(5)
        self.server.server_close()


def http_get(ns, addr, port, path, timeout=5):
    """GET PATH from namespace NS with a raw socket; returns the status line."""
    s = netns_socket(ns, socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((addr, port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {addr}:{port}\r\nUser-Agent: espcap-live-test"
                  f"\r\nConnection: close\r\n\r\n".encode())
        data = b""
        for _ in range(1000):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode("latin-1")
    finally:
        s.close()


# --------------------------------------------------------------------------- relay

class Relay:
    """Forwards TCP from 127.0.0.1:PORT inside namespace NS to UPSTREAM on the host.

    down() closes the listening port (connections are refused, as by a dead node)
    and resets the connections under way; up() listens on the same port again.
    When the upstream refuses, the accepted connection is reset.
    """

    def __init__(self, ns, upstream, port=0):
        self.ns = ns
        self.upstream = upstream  # (host, port)
        self.port = port
        self._listener = None
        self._accept_thread = None
        self._down = threading.Event()
        self._lock = threading.Lock()
        self._conns = set()
        self.up()

    def up(self):
        if self._listener is not None:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                lst = netns_socket(self.ns, socket.AF_INET, socket.SOCK_STREAM,
                                   bind=("127.0.0.1", self.port))
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        lst.listen(64)
        lst.settimeout(0.2)
        self.port = lst.getsockname()[1]
        self._down.clear()
        self._listener = lst
        self._accept_thread = threading.Thread(target=self._accept_loop, args=(lst,),
                                               name="relay-accept", daemon=True)
        self._accept_thread.start()

    def down(self):
        self._down.set()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        self._accept_thread = None
        self._listener = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _reset(c)

    close = down

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"

    MAX_SECONDS = 3600  # a relay never lives longer than this

    def _accept_loop(self, lst):
        deadline = time.monotonic() + self.MAX_SECONDS
        try:
            while not self._down.is_set() and time.monotonic() < deadline:
                try:
                    client, _ = lst.accept()
                except socket.timeout:
                    continue
                except OSError:
                    break
                threading.Thread(target=self._serve, args=(client,), name="relay-conn",
                                 daemon=True).start()
        finally:
            lst.close()

    def _serve(self, client):
        try:
            up = socket.create_connection(self.upstream, timeout=3)
        except OSError:
            _reset(client)
            return
        with self._lock:
            self._conns.update((client, up))
        try:
            _pump(client, up, self._down)
        finally:
            with self._lock:
                self._conns.discard(client)
                self._conns.discard(up)
            if self._down.is_set():
                _reset(client)
            for s in (client, up):
                try:
                    s.close()
                except OSError:
                    pass


def _reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def _pump(a, b, down, idle_limit=300):
    """Copy bytes both ways until both sides are done, DOWN is set, or nothing moves
    for IDLE_LIMIT seconds."""
    sel = selectors.DefaultSelector()
    peer = {a: b, b: a}
    open_read = {a, b}
    for s in (a, b):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    last = time.monotonic()
    deadline = last + 3600
    try:
        while open_read and not down.is_set() and time.monotonic() - last < idle_limit \
                and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                s = key.fileobj
                try:
                    data = s.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                last = time.monotonic()
                if not data:
                    sel.unregister(s)
                    open_read.discard(s)
                    try:
                        peer[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                dst = peer[s]
                view = memoryview(data)
                t_end = time.monotonic() + 60
                while view and time.monotonic() < t_end and not down.is_set():
                    try:
                        n = dst.send(view)
                        view = view[n:]
                    except BlockingIOError:
                        sel2 = selectors.DefaultSelector()
                        sel2.register(dst, selectors.EVENT_WRITE)
                        sel2.select(0.2)
                        sel2.close()
                    except OSError:
                        return
    finally:
        sel.close()


# --------------------------------------------------------------------------- search node

class Node:
    """A search node on the host's loopback, reached with urllib (stdlib only)."""

    def __init__(self, url, pidfile=None, options=(), owned=True):
        self.url = url.rstrip("/")
        self.pidfile = pidfile
        self.options = list(options)
        self.owned = owned
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port

    @classmethod
    def start(cls, pidfile, *options, timeout=240, flavor=None):
        """FLAVOR: os2, os3 or es7 (None: $ESPCAP_NODE_FLAVOR, else os2)."""
        Path(pidfile).parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(NODE_DIR / "start-node.sh"), str(pidfile)] + [str(o) for o in options]
        env = dict(os.environ, ESPCAP_NODE_FLAVOR=flavor) if flavor else None
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            subprocess.run([str(NODE_DIR / "stop-node.sh"), str(pidfile)],
                           capture_output=True, timeout=90)
            raise RuntimeError(f"{' '.join(cmd)} took more than {timeout}s: "
                               f"{(e.stderr or b'')[-1500:]!r}") from None
        lines = p.stdout.strip().splitlines()
        if p.returncode != 0 or not lines or not lines[-1].startswith("http://"):
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n"
                               f"{p.stderr[-3000:]}")
        return cls(lines[-1], pidfile=pidfile, options=options)

    def restart(self, timeout=240):
        """Start again with the same options (same port and data folder)."""
        other = Node.start(self.pidfile, *self.options, timeout=timeout)
        assert other.port == self.port, f"restarted on port {other.port}, not {self.port}"

    def stop(self, timeout=30):
        if self.owned and self.pidfile:
            subprocess.run([str(NODE_DIR / "stop-node.sh"), str(self.pidfile), str(timeout)],
                           capture_output=True, timeout=timeout + 60)

    def request(self, method, path, body=None, timeout=60, ok=(200, 201)):
        return node_http.request(self.url, method, path, body, timeout, ok)

    def count(self, prefix):
        """Documents in <prefix>-*; 0 while there is no index, or while a new one's shards are
        not yet started (503 all shards failed)."""
        self.request("POST", f"/{prefix}-*/_refresh", ok=(200, 404, 503))
        st, obj = self.request("GET", f"/{prefix}-*/_count", ok=(200, 404, 503))
        return obj.get("count", 0) if st == 200 else 0

    def all_docs(self, prefix, limit=10000):
        """Every hit (_index, _id, _source) of <prefix>-*; AssertionError past LIMIT."""
        self.request("POST", f"/{prefix}-*/_refresh")
        body = {"size": limit, "track_total_hits": True, "query": {"match_all": {}}}
        _, res = self.request("POST", f"/{prefix}-*/_search", body)
        total = res["hits"]["total"]["value"]
        assert total <= limit, f"{total} documents in {prefix}-*: more than {limit}"
        return res["hits"]["hits"]

    def clean(self, prefix):
        try:
            _, rows = self.request("GET", f"/_cat/indices/{prefix}-*?format=json&h=index",
                                   ok=(200, 404))
            names = [r["index"] for r in rows or []]
            for i in range(0, len(names), 50):
                self.request("DELETE", "/" + ",".join(names[i:i + 50]), ok=None)
            self.request("DELETE", f"/_index_template/espcap-{prefix}", ok=None)
        except (OSError, AssertionError):
            pass

    def reachable(self):
        try:
            self.request("GET", "/", timeout=5)
            return True
        except (OSError, AssertionError):
            return False


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, step=0.2):
    """Poll PRED until it is true (returns its value) or TIMEOUT passes (returns it once
    more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
