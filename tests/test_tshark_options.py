# SPDX-License-Identifier: GPL-2.0-or-later
"""tshark's options in espcap: -o, -C, -d, --enable/--disable-protocol/-heuristic, -Y,
--fields/--exclude-fields, --file=- and FIFOs.

Each option: a good value changes dissection exactly as it does in tshark (the pdml
oracle of tests/helpers/fidelity.py, with the same option given to tshark), a bad one is
refused before any packet is read with one line naming the option, the value and
Wireshark's reason, exit status 2 (also with --node: no node is contacted).
"""

import gzip
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from decimal import Decimal

import pytest

from helpers import fidelity as F
from helpers import nginx as N
from helpers import tshark as T
from test_cli import assert_usage_error


def _docs(res):
    return [json.loads(l, parse_float=Decimal) for l in res.lines]


# ---- refused values ------------------------------------------------------------------

BAD = [
    (["-o", "tcp.bogus_pref:1"], ["-o", "tcp.bogus_pref", "no such preference"]),
    (["-o", "tcp.desegment_tcp_streams:maybe"], ["-o", "maybe", "TRUE or FALSE"]),
    (["-o", "tcp.tcp_max_window_size:abc"], ["-o", "abc"]),
    (["-o", "nocolon"], ["-o", "nocolon"]),
    (["-C", "no-such-profile"], ["-C", "no-such-profile", "no such configuration profile"]),
    (["-d", "tcp.port==8888,nosuchproto"], ["-d", "nosuchproto", "no such protocol"]),
    (["-d", "nosuch.layer==1,http"], ["-d", "nosuch.layer", "no such layer type"]),
    (["-d", "tcp.port==eighty,http"], ["-d", "eighty", "not a selector number"]),
    (["-d", "tcp.port==80"], ["-d", "tcp.port==80"]),
    (["-d", "udp.port==53,bgp"], ["-d", "cannot be decoded from this layer type"]),
    (["--enable-protocol=nosuch"], ["--enable-protocol", "nosuch", "no such protocol"]),
    (["--disable-protocol=nosuch"], ["--disable-protocol", "nosuch", "no such protocol"]),
    (["--enable-heuristic=nosuch_heur"], ["--enable-heuristic", "nosuch_heur"]),
    (["--disable-heuristic=nosuch_heur"], ["--disable-heuristic", "nosuch_heur"]),
    (["-Y", "http.request =="], ["-Y", "http.request =="]),
    (["-Y", "no_such_field == 1"], ["-Y", "no_such_field"]),
]


@pytest.mark.parametrize("args,names", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_refused_before_reading(run_espcap, dns_pcap, args, names):
    res = run_espcap(*args, f"--file={dns_pcap}")
    assert_usage_error(res, *names)


def test_refused_before_contacting_a_node(run_espcap, dns_pcap):
    """With --node naming a port nothing listens on: exit 2 at once, not 3 after waiting."""
    t0 = time.monotonic()
    res = run_espcap("-o", "tcp.bogus_pref:1", f"--file={dns_pcap}",
                     "--node=http://127.0.0.1:9", "--node-wait=30")
    assert_usage_error(res, "-o", "tcp.bogus_pref")
    assert time.monotonic() - t0 < 15, "the node was waited for before the option was checked"


# ---- good values: as tshark with the same option ---------------------------------------

def _agree(run_espcap, path, types, fidelity_report, espcap_args, tshark_args, title,
           env=None):
    res = run_espcap(*espcap_args, f"--file={path}", "--max-bytes=0", env=env)
    assert res.rc == 0, res.describe()
    if env:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
    try:
        agg = F.compare_capture(path, _docs(res), types, tshark_args)
    finally:
        if env:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    fidelity_report(agg.report(title, limit=0).splitlines()[0])
    assert agg.perfect(), agg.report(title)
    return res


@pytest.fixture(scope="module")
def types(need_tshark):
    return T.registered_fields()


def test_pref_changes_dissection_as_in_tshark(run_espcap, http_pcap, types, fidelity_report):
    res = _agree(run_espcap, http_pcap, types, fidelity_report,
                 ["-o", "tcp.analyze_sequence_numbers:FALSE"],
                 ["-o", "tcp.analyze_sequence_numbers:FALSE"],
                 "-o tcp.analyze_sequence_numbers:FALSE, pdml vs espcap, test_http.pcap")
    assert not any(b"tcp.analysis.acks_frame" in l for l in res.lines[:50])


def test_disable_protocol_as_in_tshark(run_espcap, http_pcap, types, fidelity_report):
    res = _agree(run_espcap, http_pcap, types, fidelity_report, ["--disable-protocol=http"],
                 ["--disable-protocol", "http"],
                 "--disable-protocol=http, pdml vs espcap, test_http.pcap")
    assert not [d for d in _docs(res) if d["protocol"] == "http"]


def test_decode_as_as_in_tshark(run_espcap, dns_pcap, types, fidelity_report):
    res = _agree(run_espcap, dns_pcap, types, fidelity_report, ["-d", "udp.port==53,syslog"],
                 ["-d", "udp.port==53,syslog"],
                 "-d udp.port==53,syslog, pdml vs espcap, test_dns.pcap")
    assert {d["protocol"] for d in _docs(res)} == {"syslog"}


def test_profile_as_in_tshark(run_espcap, dns_pcap, types, fidelity_report, tmp_path):
    """A profile of the user's (HOME/.config/wireshark/profiles/NAME) with a decode-as
    entry and a preference, used by -C in espcap and in tshark alike."""
    prof = tmp_path / "home" / ".config" / "wireshark" / "profiles" / "espcap-test"
    prof.mkdir(parents=True)
    (prof / "preferences").write_text("dns.retransmission: FALSE\n")
    (prof / "decode_as_entries").write_text(
        "# decode as\ndecode_as_entry: udp.port,53,DNS,Syslog\n")
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home/.config")}
    res = _agree(run_espcap, dns_pcap, types, fidelity_report, ["-C", "espcap-test"],
                 ["-C", "espcap-test"], "-C espcap-test, pdml vs espcap, test_dns.pcap", env=env)
    assert {d["protocol"] for d in _docs(res)} == {"syslog"}, "the profile's decode-as is unused"


def test_users_preferences_are_read_from_wireshark_folder(run_espcap, dns_pcap, tmp_path):
    """~/.config/wireshark/ (not ~/.config/logray/): libwireshark 4.0 needs
    configuration_init before anything reads a setting."""
    conf = tmp_path / "home" / ".config" / "wireshark"
    conf.mkdir(parents=True)
    (conf / "decode_as_entries").write_text("decode_as_entry: udp.port,53,DNS,Syslog\n")
    res = run_espcap(f"--file={dns_pcap}", env={"HOME": str(tmp_path / "home"),
                                                "XDG_CONFIG_HOME": str(conf.parent)})
    assert res.rc == 0, res.describe()
    assert {d["protocol"] for d in res.docs} == {"syslog"}


def test_heuristic_toggle(run_espcap, http_pcap):
    """--disable-heuristic takes a heuristic dissector off (tshark -G heuristic-decodes)."""
    on = run_espcap(f"--file={http_pcap}", "--enable-heuristic=http_tcp")
    off = run_espcap(f"--file={http_pcap}", "--disable-heuristic=http_tcp")
    assert on.rc == 0 and off.rc == 0, on.describe() + off.describe()
    assert len(on.lines) == len(off.lines) == 1268


def test_display_filter(run_espcap, http_pcap, tshark_fields_cached):
    res = run_espcap("-Y", "http.response", f"--file={http_pcap}")
    assert res.rc == 0, res.describe()
    want = [int(r["frame.number"][0]) for r in
            tshark_fields_cached(http_pcap, ["frame.number", "http.request_in"],
                                 display_filter="http.response")]
    docs = res.docs
    assert [d["frame_number"] for d in docs] == want
    assert int(res.summary["filtered"]) == 1268 - len(want)
    assert int(res.summary["documents"]) == len(want)
    # every packet was dissected: responses are matched to their requests, which are not
    # documents themselves
    linked = [d for d in docs if "http.request_in" in json.dumps(d)]
    assert len(linked) > len(docs) // 2, "request/response matching needs every packet dissected"


def test_display_filter_documents_match_tshark(run_espcap, http_pcap, types, fidelity_report):
    res = run_espcap("-Y", "tcp.port == 80 && http", f"--file={http_pcap}", "--max-bytes=0")
    assert res.rc == 0, res.describe()
    agg = F.compare_capture(http_pcap, _docs(res), types, ["-Y", "tcp.port == 80 && http"])
    fidelity_report(agg.report("-Y 'tcp.port == 80 && http', pdml vs espcap", limit=0)
                    .splitlines()[0])
    assert agg.perfect(), agg.report("-Y")


# ---- smaller documents ----------------------------------------------------------------

def test_fields_and_exclude_fields(run_espcap, http_pcap):
    res = run_espcap(f"--file={http_pcap}", "--fields=ip.*,tcp.*,http.*",
                     "--exclude-fields=ip.host,ip.addr,*.src_host,*.dst_host")
    assert res.rc == 0, res.describe()
    full = run_espcap(f"--file={http_pcap}")
    for doc in res.docs:
        for k in ("@timestamp", "frame_number", "length", "protocols", "protocol"):
            assert k in doc, f"the envelope field {k} was dropped"
        for body in doc["layers"].values():
            for obj in (body if isinstance(body, list) else [body]):
                for key in obj:
                    if key == "envelope":
                        continue
                    name = key[:-len("._value")] if key.endswith("._value") else key
                    assert name.split(".")[0] in ("ip", "tcp", "http"), f"{name} kept"
                    assert name not in ("ip.host", "ip.addr", "ip.src_host", "ip.dst_host")
    assert "link" not in res.docs[0]["layers"] and "frame" not in res.docs[0]["layers"]
    assert res.docs[0]["layers"]["network"]["ip.src"] == full.docs[0]["layers"]["network"]["ip.src"]
    assert len(res.stdout) < len(full.stdout) * 0.8


# ---- standard input and FIFOs ---------------------------------------------------------

def _strip(docs):
    return [{k: v for k, v in d.items() if k not in ("file_name", "file_date_utc")}
            for d in docs]


def test_stdin(espcap_bin, dns_pcap, run_espcap):
    plain = run_espcap(f"--file={dns_pcap}")
    data = dns_pcap.read_bytes()
    for name, blob in (("pcap", data), ("gzip", gzip.compress(data))):
        p = subprocess.run([str(espcap_bin), "--file=-"], input=blob, capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        docs = [json.loads(l) for l in p.stdout.decode().splitlines()]
        assert _strip(docs) == _strip(plain.docs), f"stdin ({name}) differs from the file"
        assert docs[0]["file_name"] == "-"


def test_stdin_terminal_or_empty(espcap_bin):
    p = subprocess.run([str(espcap_bin), "--file=-"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "espcap: warning: -:" in p.stderr, p.stderr


def test_fifo_is_read_as_a_stream(run_espcap, dns_pcap, tmp_path):
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    data = dns_pcap.read_bytes()

    def writer():
        with open(fifo, "wb") as f:
            for i in range(0, len(data), 997):  # slowly, in pieces
                f.write(data[i:i + 997])
                f.flush()
                time.sleep(0.002)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    res = run_espcap(f"--file={fifo}", timeout=60)
    t.join(10)
    assert res.rc == 0, res.describe()
    assert len(res.lines) == 108


# ---- TLS decrypted with a key log (-o tls.keylog_file) --------------------------------

@pytest.fixture(scope="module")
def tls_capture(tmp_path_factory):
    """HTTP/2 and HTTP/1.1 over TLS to a real nginx on loopback, captured with dumpcap,
    with the key log curl wrote (SSLKEYLOGFILE)."""
    if os.geteuid() != 0 or not N.available() or not shutil.which("dumpcap"):
        pytest.skip("needs root, nginx, openssl and dumpcap")
    d = tmp_path_factory.mktemp("tls")
    # the dissection workers run as nobody: the key log must be readable by them, so it
    # lives in a folder everyone may enter (pytest's own are root's alone)
    import tempfile
    shared = tempfile.mkdtemp(prefix="espcap-tls-")
    os.chmod(shared, 0o755)
    ca = N.make_ca(d)
    cert, key = N.make_cert(d, ca, "localhost", ["127.0.0.1"])
    servers = f"""
server {{ listen 127.0.0.1:%(port0)d ssl http2; ssl_certificate {cert};
          ssl_certificate_key {key}; location / {{ return 200 "hello over h2\\n"; }} }}
server {{ listen 127.0.0.1:%(port1)d ssl; ssl_certificate {cert};
          ssl_certificate_key {key}; location / {{ return 200 "hello over http/1.1\\n"; }} }}
"""
    from pathlib import Path
    cap, keys = d / "tls.pcapng", Path(shared) / "keys.txt"
    with N.Nginx(d, servers, ports=2) as web:
        filt = f"tcp port {web.ports[0]} or tcp port {web.ports[1]}"
        dc = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", filt, "-w", str(cap)],
                              stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not cap.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        env = dict(os.environ, SSLKEYLOGFILE=str(keys))
        for args in (["--http2", f"https://127.0.0.1:{web.ports[0]}/h2"],
                     ["--http1.1", f"https://127.0.0.1:{web.ports[1]}/h1"]):
            p = subprocess.run(["curl", "-sS", "--cacert", str(ca[0]), *args], env=env,
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0 and "hello" in p.stdout, p.stderr
        time.sleep(0.5)
        dc.send_signal(signal.SIGINT)
        dc.wait(timeout=20)
    assert keys.exists() and keys.stat().st_size > 0, "curl wrote no key log"
    os.chmod(keys, 0o644)
    yield cap, keys
    shutil.rmtree(shared, ignore_errors=True)


def test_tls_keylog_decrypts_http2_and_http(run_espcap, tls_capture, types, fidelity_report):
    cap, keys = tls_capture
    locked = run_espcap(f"--file={cap}")
    assert locked.rc == 0, locked.describe()
    protos = {d["protocol"] for d in locked.docs}
    assert "http2" not in protos and "http" not in protos, protos
    res = _agree(run_espcap, cap, types, fidelity_report, ["-o", f"tls.keylog_file:{keys}"],
                 ["-o", f"tls.keylog_file:{keys}"],
                 "-o tls.keylog_file, pdml vs espcap, a TLS capture of nginx and curl")
    text = res.stdout.decode()
    h2_hex = ":".join(f"{b:02x}" for b in b"hello over h2")  # http2.data.data is bytes
    assert h2_hex in text and "hello over http/1.1" in text, \
        "the decrypted bodies are not in the documents"
    protos = {d["protocol"] for d in res.docs}
    assert "http2" in protos and "http" in protos, protos


def test_tls_keylog_unreadable_for_the_workers_is_said(run_espcap, tls_capture, tmp_path):
    """A key log only root may read: the workers (nobody) cannot; a warning says so."""
    cap, keys = tls_capture
    private = tmp_path / "private-keys.txt"
    shutil.copy(keys, private)
    os.chmod(private, 0o600)
    res = run_espcap("-o", f"tls.keylog_file:{private}", f"--file={cap}")
    assert res.rc == 0, res.describe()
    said = [w for w in res.warnings if "cannot be read by nobody" in w and str(private) in w]
    assert said, res.describe()
