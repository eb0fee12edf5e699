# SPDX-License-Identifier: GPL-2.0-or-later
"""TLS and credentials against real servers: the session's OpenSearch node behind a real
nginx (tls_proxy.py) that terminates TLS with certificates the test makes, and refuses
(401) any request without the right password or API key.

What is proved: --cacert trusts the test CA and everything is indexed; an untrusted
certificate and a certificate for another name stop espcap at once (exit 3) with the node
and the TLS reason named, nothing indexed; --insecure works and warns; wrong passwords and
API keys stop it (exit 3); every place a secret can come from (command line, node URL,
environment, --password-file/--api-key-file, $CREDENTIALS_DIRECTORY, config file) is
accepted by the server; no secret is ever on stderr, in the dead-letter file, or in
/proc/PID/cmdline of espcap or of its worker processes while they run; plain http with
credentials warns."""

import base64
import json
import os
import subprocess
import time

import pytest

from es_support import summary_ints
from helpers import ci, nginx
from helpers import espcap as E
from tls_proxy import API_KEY, PASSWORD, USER, TlsProxy

# Every variable that could bring credentials in from the caller's environment; empty
# means unset to espcap.
CLEAN_ENV = {k: "" for k in ("ESPCAP_NODE", "ESPCAP_USER", "ESPCAP_PASSWORD",
                             "ESPCAP_PASSWORD_FILE", "ESPCAP_API_KEY", "ESPCAP_API_KEY_FILE",
                             "ESPCAP_CACERT", "ESPCAP_CONFIG", "CREDENTIALS_DIRECTORY")}


def forms(secret):
    """A secret as it could leak: as given, in a basic-auth header, and the pieces a
    redaction cut at '@' or '/' would leave."""
    out = {secret, base64.b64encode(f"{USER}:{secret}".encode()).decode()}
    out |= {p for p in secret.replace("/", "@").split("@") if len(p) >= 5}
    return out


def assert_no_secret(text, where, secrets=(PASSWORD, API_KEY)):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for s in secrets:
        for f in forms(s):
            assert f not in text, f"{f!r} (from a secret) is in {where}:\n{text[-3000:]}"


@pytest.fixture(scope="module")
def proxy(es_node, tmp_path_factory):
    """nginx in front of the session's node, once for the module."""
    if not nginx.available():
        ci.missing("nginx or openssl is not installed (scripts/setup.sh installs them)")
    p = TlsProxy(tmp_path_factory.mktemp("tls"), es_node)
    try:
        p.start()
    except RuntimeError as e:
        pytest.fail(f"nginx did not start: {e}", pytrace=False)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def dns_day(run_espcap, dns_pcap):
    """(documents of test_dns.pcap, the UTC day they fall on), from espcap's own output."""
    res = run_espcap(f"--file={dns_pcap}", "--workers=1")
    assert res.rc == 0, res.describe()
    days = {d["@timestamp"][:10] for d in res.docs}
    assert len(days) == 1, days
    return len(res.docs), days.pop()


@pytest.fixture
def index_via(es_node, run_espcap, prefix, tmp_path, dns_pcap):
    """index_via(node_url, *args, env=None) -> Result: test_dns.pcap indexed through the
    proxy under this test's prefix, in tmp_path, with a clean credential environment."""
    es_node.clean(prefix)

    def run(node_url, *args, env=None, pcap=None):
        return run_espcap(f"--file={pcap or dns_pcap}", f"--node={node_url}",
                          f"--index-prefix={prefix}", "--workers=1", "--node-wait=90",
                          f"--rejected={tmp_path}/rejected.ndjson", *args, cwd=tmp_path,
                          env={**CLEAN_ENV, **(env or {})}, timeout=120)
    yield run
    es_node.clean(prefix)


def assert_all_indexed(res, es_node, prefix, n):
    assert res.rc == 0, res.describe()
    s = summary_ints(res)
    assert (s["documents"], s["indexed"], s["rejected"]) == (n, n, 0), res.summary_line
    assert es_node.count(prefix) == n


def assert_stopped(res, es_node, prefix, tmp_path, *words):
    """Exit 3 at start-up, the last line naming each of WORDS, nothing indexed."""
    assert res.rc == 3, res.describe()
    last = res.stderr_lines[-1] if res.stderr_lines else ""
    for w in words:
        assert w in last, f"the error does not say {w!r}:\n{res.stderr}"
    # a TLS or credentials failure does not mend by waiting: not the --node-wait (90 s) spent
    # (it takes under a second; the margin is for a loaded machine)
    assert res.elapsed < 45, f"took {res.elapsed:.1f}s:\n{res.stderr}"
    assert es_node.indices(prefix) == {}, "something was indexed"
    assert not (tmp_path / "rejected.ndjson").exists()
    assert_no_secret(res.stderr, "stderr")


# --------------------------------------------------------------------------- TLS

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_trusted_ca_indexes_everything(proxy, index_via, es_node, prefix, dns_day, host):
    """The certificate holds both names (an IP and a DNS subject alternative name)."""
    url = proxy.https if host == "127.0.0.1" else proxy.https_localhost
    res = index_via(url, f"--cacert={proxy.ca}", f"--user={USER}",
                    env={"ESPCAP_PASSWORD": PASSWORD})
    assert_all_indexed(res, es_node, prefix, dns_day[0])
    assert not res.warnings, f"warnings over verified https:\n{res.stderr}"
    assert_no_secret(res.stderr, "stderr")


@pytest.mark.parametrize("ca", ["system-store", "other-ca"])
def test_untrusted_certificate_stops_at_once(proxy, index_via, es_node, prefix, tmp_path, ca):
    args = [] if ca == "system-store" else [f"--cacert={proxy.other_ca}"]
    res = index_via(proxy.https, *args, f"--user={USER}", env={"ESPCAP_PASSWORD": PASSWORD})
    assert_stopped(res, es_node, prefix, tmp_path, proxy.https, "TLS certificate",
                   "unable to get local issuer certificate", "--cacert")


def test_wrong_host_name_stops_at_once(proxy, index_via, es_node, prefix, tmp_path):
    """A certificate of the trusted CA, but for other.example."""
    res = index_via(proxy.wrong_name, f"--cacert={proxy.ca}", f"--user={USER}",
                    env={"ESPCAP_PASSWORD": PASSWORD})
    assert_stopped(res, es_node, prefix, tmp_path, proxy.wrong_name, "TLS certificate",
                   "host name '127.0.0.1'")


def test_insecure_works_and_warns(proxy, index_via, es_node, prefix, dns_day):
    """No CA and a certificate for another name: both checks are off."""
    res = index_via(proxy.wrong_name, "--insecure", env={"ESPCAP_API_KEY": API_KEY})
    assert_all_indexed(res, es_node, prefix, dns_day[0])
    assert any("--insecure" in w and "not verified" in w for w in res.warnings), res.stderr


# --------------------------------------------------------------------------- credentials

@pytest.mark.parametrize("how", ["bad-password-env", "bad-password-file", "bad-api-key",
                                 "bad-api-key-file", "none"])
def test_refused_credentials_stop_at_once(proxy, index_via, es_node, prefix, tmp_path, how):
    bad = "not-the-" + PASSWORD
    (tmp_path / "bad").write_text(bad + "\n")
    args, env = {
        "bad-password-env": ([f"--user={USER}"], {"ESPCAP_PASSWORD": bad}),
        "bad-password-file": ([f"--user={USER}", f"--password-file={tmp_path}/bad"], {}),
        "bad-api-key": ([], {"ESPCAP_API_KEY": "bm90LXRoZS1rZXk="}),
        "bad-api-key-file": ([f"--api-key-file={tmp_path}/bad"], {}),
        "none": ([], {}),
    }[how]
    res = index_via(proxy.https, f"--cacert={proxy.ca}", *args, env=env)
    assert_stopped(res, es_node, prefix, tmp_path, proxy.https, "refused the credentials",
                   "HTTP 401")
    assert_no_secret(res.stderr, "stderr", (PASSWORD, API_KEY, bad))


def _source(how, proxy, tmp_path):
    """(node URL, args, env) giving the right credentials in the way HOW."""
    creds = tmp_path / "credentials"
    creds.mkdir(exist_ok=True)
    (creds / "es-password").write_text(PASSWORD + "\n")
    (creds / "es-key").write_text(API_KEY + "\n")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    (tmp_path / "key").write_text(API_KEY)
    (tmp_path / "espcap.conf").write_text(f"user = {USER}\npassword = \"{PASSWORD}\"\n")
    hostport = proxy.https.split("://")[1]
    return {
        "argv-user": (proxy.https, [f"--user={USER}:{PASSWORD}"], {}),
        "argv-api-key": (proxy.https, ["--api-key", API_KEY], {}),
        # the password as typed, '@', '/' and ':' in it
        "node-url": (f"https://{USER}:{PASSWORD}@{hostport}", [], {}),
        "user-and-env": (proxy.https, [f"--user={USER}"], {"ESPCAP_PASSWORD": PASSWORD}),
        "env-only": (proxy.https, [], {"ESPCAP_USER": USER, "ESPCAP_PASSWORD": PASSWORD}),
        "env-api-key": (proxy.https, [], {"ESPCAP_API_KEY": API_KEY}),
        "password-file": (proxy.https, [f"--user={USER}", f"--password-file={tmp_path}/pw"],
                          {}),
        "env-password-file": (proxy.https, [], {"ESPCAP_USER": USER,
                                                "ESPCAP_PASSWORD_FILE": str(tmp_path / "pw")}),
        "api-key-file": (proxy.https, [f"--api-key-file={tmp_path}/key"], {}),
        "credentials-dir-password": (proxy.https, [f"--user={USER}",
                                                   "--password-file=es-password"],
                                     {"CREDENTIALS_DIRECTORY": str(creds)}),
        "credentials-dir-api-key": (proxy.https, ["--api-key-file=es-key"],
                                    {"CREDENTIALS_DIRECTORY": str(creds)}),
        "config-file": (proxy.https, [f"--config={tmp_path}/espcap.conf"], {}),
    }[how]


@pytest.mark.parametrize("how", ["env-only", "env-password-file", "password-file",
                                 "api-key-file", "config-file"])
def test_credentials_accepted(proxy, index_via, es_node, prefix, tmp_path, dns_day, how):
    """Each place a secret can come from, as the server checks it (the other places are
    in test_no_secret_leaks_while_running)."""
    url, args, env = _source(how, proxy, tmp_path)
    res = index_via(url, f"--cacert={proxy.ca}", *args, env=env)
    assert_all_indexed(res, es_node, prefix, dns_day[0])
    assert_no_secret(res.stderr, "stderr")


def _family(pid):
    """pid and every process descended from it (the zygote, the workers)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out = [pid]
    for p in out:
        out.extend(children.get(p, []))
    return out


def _cmdlines(pid):
    got = {}
    for p in _family(pid):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                got[p] = f.read()
        except OSError:
            pass
    return got


@pytest.mark.parametrize("how", ["argv-user", "argv-api-key", "node-url", "user-and-env",
                                 "env-api-key", "credentials-dir-password",
                                 "credentials-dir-api-key"])
def test_no_secret_leaks_while_running(proxy, espcap_bin, es_node, prefix, tmp_path, dns_pcap,
                                       dns_day, how):
    """espcap reads the capture from a pipe that the test holds open, so that it, its
    zygote and its worker are running while their /proc/PID/cmdline are read. A daily index made
    beforehand maps dns.a as long, so the documents with an address are rejected and
    dead-lettered: the dead-letter file must not hold a secret either."""
    n, day = dns_day
    es_node.clean(prefix)
    es_node.request("PUT", f"/{prefix}-{day}", {
        "settings": {"number_of_replicas": 0},
        "mappings": {"properties": {"layers": {"properties": {"application": {"properties": {
            "dns": {"properties": {"a": {"type": "long"}}}}}}}}}})
    url, args, env = _source(how, proxy, tmp_path)
    dead = tmp_path / "dead.ndjson"
    cmd = [str(espcap_bin), "--file=-", f"--node={url}", f"--index-prefix={prefix}",
           f"--cacert={proxy.ca}", "--workers=1", "--node-wait=20", f"--rejected={dead}",
           *args]
    errf = tmp_path / "stderr"
    with open(errf, "wb") as err_out:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=err_out, cwd=tmp_path, env={**os.environ, **CLEAN_ENV, **env})
    try:
        p.stdin.write(dns_pcap.read_bytes())
        p.stdin.flush()
        # running: connected with the credentials, the workers dissecting, the pipe open
        deadline = time.monotonic() + 60
        while b"indexing into" not in errf.read_bytes() or len(_family(p.pid)) < 3:
            assert p.poll() is None, f"espcap ended early ({p.returncode}): {errf.read_text()}"
            assert time.monotonic() < deadline, \
                f"no worker after 60 s: {_cmdlines(p.pid)}\n{errf.read_text()}"
            time.sleep(0.1)
        seen = _cmdlines(p.pid)
        assert p.pid in seen and len(seen) >= 3, f"espcap, its zygote and worker: {seen}"
        assert f"--index-prefix={prefix}".encode() in seen[p.pid], seen[p.pid]
        for pid, line in seen.items():
            assert_no_secret(line, f"/proc/{pid}/cmdline")
        if how == "node-url":   # only the user:password part is blanked
            assert f"@{proxy.https.split('://')[1]}".encode() in seen[p.pid], seen[p.pid]
        elif how.startswith("argv-"):
            assert (b"--user=" if how == "argv-user" else b"--api-key") in seen[p.pid]
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    err = errf.read_text()
    assert p.returncode == 1, f"exit {p.returncode} (1: some documents rejected):\n{err}"
    res = E.Result(cmd[1:], p.returncode, b"", err, 0)
    s = summary_ints(res)
    assert s["documents"] == n and s["rejected"] > 0, res.summary_line
    assert s["indexed"] + s["rejected"] == n, res.summary_line
    assert es_node.count(prefix) == s["indexed"]
    assert_no_secret(err, "stderr")
    lines = dead.read_bytes().splitlines()
    assert len(lines) == s["rejected"], f"{len(lines)} dead letters, {s['rejected']} rejected"
    for line in lines:
        json.loads(line)
    assert_no_secret(dead.read_bytes(), "the dead-letter file")
    es_node.clean(prefix)


def test_plain_http_with_credentials_warns(proxy, index_via, es_node, prefix, dns_day):
    res = index_via(proxy.plain, env={"ESPCAP_USER": USER, "ESPCAP_PASSWORD": PASSWORD})
    assert_all_indexed(res, es_node, prefix, dns_day[0])
    assert any(w.startswith(f"{proxy.plain} is plain http") and "credentials" in w
               for w in res.warnings), res.stderr
    assert_no_secret(res.stderr, "stderr")
