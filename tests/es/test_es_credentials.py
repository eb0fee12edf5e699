# SPDX-License-Identifier: GPL-2.0-or-later
"""Where credentials come from, as the node sees them (the Authorization header, recorded
by a proxy in front of the real node): --user with $ESPCAP_PASSWORD, --password-file (a
systemd credential too), --api-key-file, a config file, a node URL's user:password@; never
printed, a node URL's password neither (test_es_tls.py has them against a server that
checks them, over TLS)."""

import base64

import pytest

from es_support import RecordingProxy


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_credentials_from_each_place(es_node, dns_pcap, run_espcap, prefix, tmp_path):
    (tmp_path / "pw").write_text("file-pw-1\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "es-password").write_text("cred-pw-2\n")
    (creds / "es-key").write_text("a2V5LWZyb20tZmlsZQ==\n")
    conf = tmp_path / "espcap.conf"
    conf.write_text("user = carol\npassword = conf-pw-3\n")
    cases = [
        # --user=alice with $ESPCAP_PASSWORD: that password (it used to be dropped)
        (["--user=alice"], {"ESPCAP_PASSWORD": "env-pw-0"}, basic("alice", "env-pw-0"),
         "env-pw-0"),
        (["--user=bob", f"--password-file={tmp_path}/pw"], {}, basic("bob", "file-pw-1"),
         "file-pw-1"),
        (["--user=dave", "--password-file=es-password"], {"CREDENTIALS_DIRECTORY": str(creds)},
         basic("dave", "cred-pw-2"), "cred-pw-2"),
        ([f"--config={conf}"], {}, basic("carol", "conf-pw-3"), "conf-pw-3"),
        # the environment beats the config file
        ([f"--config={conf}"], {"ESPCAP_PASSWORD": "env-pw-4"}, basic("carol", "env-pw-4"),
         "env-pw-4"),
        (["--api-key-file=es-key"], {"CREDENTIALS_DIRECTORY": str(creds)},
         "ApiKey a2V5LWZyb20tZmlsZQ==", "a2V5LWZyb20tZmlsZQ=="),
        # a node URL's user:password@: '@', '/' and ':' as typed, %2C a comma; it beats --user
        (["--node=http://erin:url@pw/6:x%2Cy@HOSTPORT", "--user=zed:not-this"], {},
         basic("erin", "url@pw/6:x,y"), "url@pw/6"),
    ]
    for k, (args, env, want, secret) in enumerate(cases):
        p = f"{prefix}-{k}"
        es_node.clean(p)
        with RecordingProxy(es_node) as proxy:
            args = [a.replace("HOSTPORT", proxy.hostport) for a in args]
            res = run_espcap(f"--node={proxy.hostport}", f"--index-prefix={p}",
                             f"--file={dns_pcap}", *args,
                             f"--rejected={tmp_path}/rejected.ndjson", cwd=tmp_path, env=env)
        assert res.rc == 0, f"case {k}: {res.describe()}"
        auth = {r[2].get("authorization") for r in proxy.requests}
        assert auth == {want}, f"case {k} ({args}, {env}): Authorization {auth}, want {want!r}"
        assert secret not in res.stderr, f"case {k}: the secret is printed:\n{res.stderr}"
        es_node.clean(p)


@pytest.mark.parametrize("args,env,names", [
    (["--user=alice:pw", "--password-file=PW"], {}, ["password", "given twice"]),
    (["--api-key=k", "--api-key-file=PW"], {}, ["API key", "given twice"]),
    (["--password-file=PW"], {}, ["--password-file", "--user"]),
    (["--user=alice", "--password-file=/nonexistent/pw"], {}, ["--password-file",
                                                              "/nonexistent/pw"]),
    (["--user=alice", "--password-file=EMPTY"], {}, ["--password-file", "empty"]),
], ids=["password-twice", "key-twice", "password-without-user", "missing-file", "empty-file"])
def test_credential_errors(run_espcap, dns_pcap, tmp_path, args, env, names):
    """Found before anything is read or sent: one line, exit 2."""
    from test_cli import assert_usage_error
    (tmp_path / "pw").write_text("pw\n")
    (tmp_path / "empty").write_text("\n")
    args = [a.replace("PW", str(tmp_path / "pw")).replace("EMPTY", str(tmp_path / "empty"))
            for a in args]
    res = run_espcap("--node=127.0.0.1:9", f"--file={dns_pcap}", *args, env=env,
                     cwd=tmp_path)
    assert_usage_error(res, *names)


@pytest.mark.parametrize("node", ["ftp://al:pw@s/x@h:9200", "https://al:pw@s/x@h:1,,b:2",
                                  "https://al:pw@s/x@"],
                         ids=["scheme", "empty-item", "no-host"])
def test_bad_node_url_never_echoes_its_password(run_espcap, dns_pcap, tmp_path, node):
    """A refused --node is named in the error, without its user:password@ (the raw value
    used to be echoed)."""
    from test_cli import assert_usage_error
    res = run_espcap(f"--node={node}", f"--file={dns_pcap}", cwd=tmp_path)
    line = assert_usage_error(res, "--node")
    for piece in ("al:pw", "pw@s", "s/x"):
        assert piece not in res.stderr, f"{piece!r} of the password is printed: {line}"


def test_node_url_password_never_printed(run_espcap, dns_pcap, tmp_path):
    """A password holding '@' and '/' (the redaction kept its tail after the first '@',
    and all of it when it held a '/'): not in the start-up messages of a node that does
    not answer, nor in --dump-options=values."""
    node = "http://al:pw@s/x:y@127.0.0.1:1"
    res = run_espcap(f"--node={node}", f"--file={dns_pcap}", "--node-wait=1", cwd=tmp_path,
                     timeout=60)
    assert res.rc == 3, res.describe()
    assert "http://127.0.0.1:1" in res.stderr_lines[-1], res.stderr
    assert "plain http" in res.stderr, f"no warning about credentials over http:\n{res.stderr}"
    for piece in ("al:pw", "pw@s", "s/x"):
        assert piece not in res.stderr, f"{piece!r} of the password is printed:\n{res.stderr}"
    res = run_espcap(f"--node={node}", f"--file={dns_pcap}", "--dump-options=values")
    assert b"node = http://127.0.0.1:1  # command line" in res.stdout, res.stdout
    assert b"pw@s" not in res.stdout and b"al:pw" not in res.stdout, res.stdout
