# SPDX-License-Identifier: GPL-2.0-or-later
"""A real TLS-terminating proxy in front of a test node: Debian's nginx, with a CA and
certificates made by openssl, enforcing basic auth and API keys as a secured cluster does.

    proxy = TlsProxy(workdir, node)      # node: es_support.Node
    proxy.start()
    proxy.https      https://127.0.0.1:PORT   a certificate for localhost and 127.0.0.1
    proxy.wrong_name https://127.0.0.1:PORT   a certificate for other.example only
    proxy.plain      http://127.0.0.1:PORT    the same checks without TLS
    proxy.ca, proxy.other_ca                  the CA that signed both; one that did not
    proxy.stop()

Every port answers 401 without credentials, with a wrong password, and with an API key
that is not proxy.api_key; with proxy.user/proxy.password or proxy.api_key it forwards to
the node (over keep-alive connections, bodies streamed, not buffered to disk).
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import nginx  # noqa: E402

# A password with the characters that broke the URL redaction ('@', '/', ':'), and an
# API key in the "base64(id:key)" form the engines issue.
USER = "espcap-writer"
PASSWORD = "pw-7Q@x/y:z-4Kd"
API_KEY = "ZXNwY2FwLWlkOmtleS0zOWI1YzA3ZA=="


def _htpasswd(path, user, password):
    p = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=password,
                       capture_output=True, text=True, timeout=30, check=True)
    path.write_text(f"{user}:{p.stdout.strip()}\n")
    path.chmod(0o600)


class TlsProxy:
    def __init__(self, workdir, node, user=USER, password=PASSWORD, api_key=API_KEY):
        self.dir = Path(workdir)
        self.node = node
        self.user, self.password, self.api_key = user, password, api_key
        certs = self.dir / "certs"
        self.ca = nginx.make_ca(certs / "ca")[0]
        ca = (self.ca, certs / "ca" / "ca.key")
        self.other_ca = nginx.make_ca(certs / "other", name="another CA")[0]
        good = nginx.make_cert(certs / "ca", ca, "localhost", ["127.0.0.1"], name="good")
        wrong = nginx.make_cert(certs / "ca", ca, "other.example", name="wrong")
        htpasswd = self.dir / "htpasswd"
        _htpasswd(htpasswd, user, password)
        checks = f"""
        auth_basic $espcap_realm;
        auth_basic_user_file {htpasswd};
        if ($espcap_key_bad) {{ return 401; }}
        location / {{
            proxy_pass http://espcap_node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}"""
        tls = "ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:espcap:1m;"
        servers = f"""
    map $http_authorization $espcap_realm {{
        "~^ApiKey " off;
        default "espcap test";
    }}
    map $http_authorization $espcap_key_bad {{
        "ApiKey {api_key}" 0;
        "~^ApiKey " 1;
        default 0;
    }}
    upstream espcap_node {{
        server {node.host}:{node.port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:%(port0)d ssl;
        ssl_certificate {good[0]};
        ssl_certificate_key {good[1]};
        {tls}
        {checks}
    }}
    server {{
        listen 127.0.0.1:%(port1)d ssl;
        ssl_certificate {wrong[0]};
        ssl_certificate_key {wrong[1]};
        {tls}
        {checks}
    }}
    server {{
        listen 127.0.0.1:%(port2)d;
        {checks}
    }}
"""
        self.web = nginx.Nginx(self.dir, servers, ports=3)
        p0, p1, p2 = self.web.ports
        self.https = f"https://127.0.0.1:{p0}"
        self.https_localhost = f"https://localhost:{p0}"
        self.wrong_name = f"https://127.0.0.1:{p1}"
        self.plain = f"http://127.0.0.1:{p2}"

    def start(self):
        self.web.start()
        for port in self.web.ports[1:]:   # start() waited for the first one
            _wait_port(port)
        return self

    def stop(self):
        self.web.stop()

    def log(self):
        return self.web.log()

    def access_log(self):
        return self.web.access_log()


def _wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
