# SPDX-License-Identifier: GPL-2.0-or-later
"""A real nginx (Debian's) on loopback for the tests, and the certificates it needs.

    ca = make_ca(tmp)                       # a CA of the test's own
    cert, key = make_cert(tmp, ca, "localhost", ["127.0.0.1"])
    with Nginx(tmp, '''server { listen 127.0.0.1:%(port)d ssl; ... }''') as web:
        web.port ...

Nginx runs in the foreground (daemon off) with a configuration, logs and pid file in a
folder of the test's; every "%(port)d" ... "%(portN)d" in the server text is a free port.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def available():
    return shutil.which("nginx") is not None and shutil.which("openssl") is not None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr.strip()}")


def make_ca(d, name="espcap test CA"):
    """A self-signed CA: (cert path, key path)."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "ca.pem", d / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
             str(cert), "-days", "2", "-subj", f"/CN={name}", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             cwd=d)
    return cert, key


def make_cert(d, ca, cn, ips=(), dns=None, name="server"):
    """A server certificate signed by ca for cn (and the IPs / DNS names given)."""
    d = Path(d)
    ca_cert, ca_key = ca
    key, csr, cert = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem"
    ext = d / f"{name}.ext"
    alt = [f"DNS:{n}" for n in (dns if dns is not None else [cn])] + [f"IP:{i}" for i in ips]
    ext.write_text("subjectAltName=" + ",".join(alt) + "\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
             "-subj", f"/CN={cn}", cwd=d)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext), cwd=d)
    return cert, key


class Nginx:
    """main: more directives for the main context. Started as root, the workers run as
    root too ("user root;"), so that they can read files in the test's private folders
    (an auth_basic_user_file in pytest's 0700 tmp_path)."""

    def __init__(self, workdir, servers, ports=1, main=""):
        self.dir = Path(workdir) / f"nginx-{os.getpid()}-{time.monotonic_ns()}"
        self.dir.mkdir(parents=True)
        (self.dir / "logs").mkdir()
        self.ports = [free_port() for _ in range(ports)]
        self.port = self.ports[0]
        subst = {"port": self.port, **{f"port{i}": p for i, p in enumerate(self.ports)}}
        if os.geteuid() == 0:
            main = "user root;\n" + main
        conf = f"""
daemon off;
{main}
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {self.dir}/logs/access.log;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    client_max_body_size 0;
{servers % subst}
}}
"""
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(conf)
        self.proc = None

    def start(self, timeout=20):
        self.proc = subprocess.Popen(["nginx", "-c", str(self.conf), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()[-2000:]}"
                                   f"\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port}\n{self.log()}")

    def log(self):
        p = self.dir / "logs" / "error.log"
        return p.read_text()[-3000:] if p.exists() else ""

    def access_log(self):
        p = self.dir / "logs" / "access.log"
        return p.read_text() if p.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
