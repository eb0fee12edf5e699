# SPDX-License-Identifier: GPL-2.0-or-later
"""Live capture with libpcap: espcap --nic in a network namespace, traffic from another.

espcap runs in namespace a on veth-a; datagrams, DNS queries and HTTP requests
come from namespace b.  Standard output (NDJSON) is checked document by document.
"""

import re
import shutil
import signal
import subprocess
import time

import pytest

import livenet as L

_why = L.live_problem()
if _why:
    pytest.skip(_why, allow_module_level=True)

from livenet import is_nudge, stop_live  # noqa: E402

PORT = 5555


def payloads(docs):
    return [L.doc_payload(d) for d in docs]


def markers_of(docs, tag):
    prefix = f"ESPCAP-LIVE:{tag}:".encode()
    return [p for p in payloads(docs) if p is not None and p.startswith(prefix)]


def transport(doc):
    return (doc.get("layers") or {}).get("transport") or {}


def application(doc):
    return (doc.get("layers") or {}).get("application") or {}


def check_live_doc(doc, ifname):
    assert doc.get("capture") == "pcap_live", f"capture is {doc.get('capture')!r}"
    assert doc.get("interface") == ifname, f"interface is {doc.get('interface')!r}"
    assert "file_name" not in doc, "a live document has a file_name"


@pytest.fixture(scope="module")
def field_key():
    """field_key(name) -> the document key of a Wireshark field: NAME, or NAME._value
    when NAME is a prefix of another registered field (None: registry unknown)."""
    try:
        from helpers import tshark as T
        reg = T.registered_fields() if T.available() else None
    except (OSError, subprocess.SubprocessError):
        reg = None

    def key(name):
        if not reg:
            return None
        return name + "._value" if any(f.startswith(name + ".") for f in reg) else name
    return key


def get_field(layer, name, field_key):
    k = field_key(name)
    if k is not None:
        return layer.get(k)
    return layer.get(name + "._value", layer.get(name))


# --------------------------------------------------------------------------- --count

def test_count_stops_at_exactly_n(lab, start_live, sender, sink, tag):
    """--count=N: exactly N documents although 3N datagrams (and whatever else) flow."""
    sink(PORT)
    n = 25
    run = start_live(f"--nic={lab.IF_A}", f"--count={n}")
    run.wait_ready()
    s = sender(PORT)
    for i in range(3 * n):
        s.send(L.marker(tag, i))
        time.sleep(0.002)
    res = run.finish(timeout=30)
    assert res.rc == 0, res.describe()
    docs = res.docs
    assert len(docs) == n, f"--count={n} gave {len(docs)} documents\n{res.describe()}"
    assert [d["frame_number"] for d in docs] == list(range(1, n + 1))
    for d in docs:
        check_live_doc(d, lab.IF_A)
    got = markers_of(docs, tag)
    # no filter: an ARP exchange may come first; the rest are our datagrams, in order
    assert len(got) >= n - 4, f"only {len(got)} of {n} documents are our datagrams"
    assert got == s.sent[:len(got)], "the datagrams are not the first ones sent, in order"
    cap = L.capture_stats(res.stderr)
    summ = L.summary_stats(res.stderr)
    assert cap is not None, f"no 'espcap: capture:' line\n{res.describe()}"
    assert cap.get("interface") == lab.IF_A
    assert cap.get("captured") == str(n), cap
    assert summ and summ.get("packets") == str(n) and summ.get("documents") == str(n), summ


def test_reset_every_keeps_frame_numbers(lab, start_live, sender, sink, tag):
    """--reset-every=4: dissection sessions restart, frame numbers go on 1..N."""
    sink(PORT)
    n = 11
    run = start_live(f"--nic={lab.IF_A}", f"--bpf=udp dst port {PORT}", f"--count={n}",
                     "--reset-every=4")
    run.wait_ready()
    s = sender(PORT)
    for i in range(n + 3):
        s.send(L.marker(tag, i))
        time.sleep(0.002)
    res = run.finish(timeout=30)
    assert res.rc == 0, res.describe()
    assert [d["frame_number"] for d in res.docs] == list(range(1, n + 1)), res.describe()
    assert markers_of(res.docs, tag) == s.sent[:n]


# --------------------------------------------------------------------------- --bpf

def test_bpf_filter_lets_only_matching_packets_through(lab, start_live, sender, tag):
    run = start_live(f"--nic={lab.IF_A}", f"--bpf=udp port {PORT}")
    run.wait_ready()
    to_5555 = sender(PORT)
    to_6666 = sender(6666)
    refused = 0
    for i in range(40):
        to_5555.send(L.marker(tag, i))
        to_6666.send(L.marker(tag, 1000 + i))
        if i % 4 == 0:  # TCP to a closed port: SYN, then RST back
            t = L.netns_socket(lab.ns_b, type=L.socket.SOCK_STREAM)
            t.settimeout(2)
            try:
                t.connect((lab.addr_a, 7777))
            except OSError:
                refused += 1
            finally:
                t.close()
        time.sleep(0.003)
    time.sleep(0.3)
    res, nudges = stop_live(run, to_5555, tag)
    assert res.rc == 0, res.describe()
    assert refused == 10
    docs = res.docs
    for d in docs:
        assert d.get("protocols") == "eth:ethertype:ip:udp:data", (
            f"a document that the filter should have kept out: protocols={d.get('protocols')}")
        tr = transport(d)
        ports = (tr.get("udp.srcport"), tr.get("udp.dstport"))
        assert PORT in ports, (f"a document that the filter should have kept out: "
                               f"protocols={d.get('protocols')} transport={tr}")
    got = markers_of(docs, tag)
    assert sorted(got) == sorted(to_5555.sent), (
        f"{len(got)} of the {len(to_5555.sent)} datagrams to {PORT} came out")
    assert not any(p in to_6666.sent for p in got)
    non_marker = [p for p in payloads(docs) if p not in to_5555.sent and not is_nudge(p)]
    assert not non_marker, f"unexpected documents: {non_marker[:5]}"


# --------------------------------------------------------------------------- content

def test_documents_carry_what_was_sent(lab, start_live, sender, sink, tag, field_key):
    """UDP payloads come out as data.data; DNS queries to a responder in namespace a give
    protocol dns with the names queried (dns.qry.name._value) and the answer; GETs to
    http.server give protocol http with the paths requested."""
    sink(PORT)
    dns = L.DnsResponder(lab.ns_a, lab.addr_a, answer_addr=lab.addr_a)
    dns.start()
    web = L.HttpServer(lab.ns_a, lab.addr_a, 8080)
    try:
        run = start_live(f"--nic={lab.IF_A}",
                         f"--bpf=udp port {PORT} or udp port 53 or tcp port 8080")
        run.wait_ready()
        # UDP datagrams: text markers and every byte value
        s = sender(PORT)
        for i in range(8):
            s.send(L.marker(tag, i))
        s.send(bytes(range(256)))
        s.send(b"\x00\xff" * 40 + L.marker(tag, 99))
        # DNS queries, each answered by the responder in namespace a
        names = [f"q{i}-{tag.split(':')[0]}.espcap-live.test" for i in range(5)]
        q = L.netns_socket(lab.ns_b)
        q.settimeout(3)
        answered = 0
        try:
            for i, name in enumerate(names):
                q.sendto(L.dns_query(0x4000 + i, name), (lab.addr_a, 53))
                try:
                    reply, _ = q.recvfrom(2048)
                    answered += reply[:2] == (0x4000 + i).to_bytes(2, "big")
                except OSError:
                    pass
        finally:
            q.close()
        # HTTP requests to http.server in namespace a
        paths = [f"/espcap/live/{i}?tag={tag.split(':')[0]}&n={i}" for i in range(4)]
        statuses = [L.http_get(lab.ns_b, lab.addr_a, 8080, p) for p in paths]
        time.sleep(0.3)
        res, nudges = stop_live(run, s, tag)
    finally:
        dns.stop()
        web.stop()
    assert answered == len(names), f"the DNS responder answered {answered} of {len(names)}"
    assert all(st.startswith("HTTP/1.0 200") for st in statuses), statuses
    assert res.rc == 0, res.describe()
    docs = res.docs
    for d in docs:
        check_live_doc(d, lab.IF_A)

    # UDP: data.data is the payload, as colon hex
    got = [p for p in payloads(docs) if p is not None and not is_nudge(p)]
    assert sorted(got) == sorted(s.sent), (
        f"UDP payloads differ: sent {len(s.sent)}, documents carry {len(got)}")
    udp_docs = [d for d in docs if L.doc_payload(d) in s.sent]
    for d in udp_docs:
        assert transport(d).get("udp.dstport") == PORT
        assert isinstance(transport(d).get("udp.dstport"), int)

    # DNS: protocol dns, the queried names, the answer
    dns_docs = [d for d in docs if d.get("protocol") == "dns"]
    qkey = field_key("dns.qry.name")
    if qkey is not None:
        assert qkey == "dns.qry.name._value"
    queried = [get_field(application(d), "dns.qry.name", field_key) for d in dns_docs]
    assert sorted(queried) == sorted(names * 2), (
        f"dns.qry.name of the dns documents: {queried} (want each of {names} twice: "
        f"query and response)")
    responses = [d for d in dns_docs
                 if get_field(application(d), "dns.flags.response", field_key) is True]
    assert len(responses) == len(names)
    for d in responses:
        a = get_field(application(d), "dns.a", field_key)
        assert a in (lab.addr_a, [lab.addr_a]), f"dns.a is {a!r}"

    # HTTP: protocol http, the request URIs
    http_docs = [d for d in docs if d.get("protocol") == "http"]
    uris = [get_field(application(d), "http.request.uri", field_key) for d in http_docs]
    uris = [u for u in uris if u is not None]
    assert sorted(uris) == sorted(paths), f"http.request.uri: {uris}, sent {paths}"
    assert sorted(web.paths) == sorted(paths)
    methods = [application(d).get("http.request.method") for d in http_docs
               if get_field(application(d), "http.request.uri", field_key) is not None]
    assert methods == ["GET"] * len(paths)
    codes = [get_field(application(d), "http.response.code", field_key) for d in http_docs]
    assert codes.count(200) == len(paths), f"http.response.code: {codes}"


# --------------------------------------------------------------------------- signals

def test_sigint_delivers_everything_captured(lab, start_live, sender, sink, tag):
    """Send N markers, wait, SIGINT (and nothing more): exit 0 with all N delivered."""
    sink(PORT)
    n = 400
    run = start_live(f"--nic={lab.IF_A}", f"--bpf=udp dst port {PORT}")
    run.wait_ready()
    s = sender(PORT)
    for i in range(n):
        s.send(L.marker(tag, i))
        if i % 50 == 49:
            time.sleep(0.01)
    time.sleep(0.5)
    run.signal(signal.SIGINT)
    ended = True
    try:
        run.proc.wait(10)
    except subprocess.TimeoutExpired:
        ended = False
    nudges = 0
    if not ended:
        # Diagnose: does one more packet end it?
        for i in range(10):
            s.send(f"ESPCAP-NUDGE:{tag}:{i}".encode(), record=False)
            nudges += 1
            try:
                run.proc.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                pass
    res = run.finish(timeout=30)
    assert ended, ("espcap did not end within 10 s of SIGINT on an idle interface"
                   + (f"; it ended only after {nudges} more packet(s) arrived"
                      if res.rc is not None and nudges else "") + "\n" + res.describe())
    assert res.rc == 0, res.describe()
    got = markers_of(res.docs, tag)
    assert got == s.sent, f"{len(got)} of {n} markers delivered"
    cap = L.capture_stats(res.stderr)
    summ = L.summary_stats(res.stderr)
    assert cap and summ, res.describe()
    assert cap["captured"] == summ["documents"] == str(len(res.docs)) == str(n), (cap, summ)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_traffic_flows(lab, start_live, sink, tag, sig):
    """A signal during steady traffic: exit 0; what came before it is all there, with
    no gap; captured= equals documents."""
    sink(PORT)
    run = start_live(f"--nic={lab.IF_A}", f"--bpf=udp dst port {PORT}")
    run.wait_ready()
    paced = L.PacedSender(lab.ns_b, lab.addr_a, PORT, tag, rate=400, max_count=20000,
                          max_seconds=60)
    paced.start()
    time.sleep(1.5)
    before = len(paced.sent)
    t_sig = time.monotonic()
    run.signal(sig)
    try:
        run.proc.wait(20)
    except subprocess.TimeoutExpired:
        pass
    sent = paced.stop()
    res = run.finish(timeout=10)
    assert res.rc == 0, f"exit status {res.rc} after {sig.name}\n{res.describe()}"
    got = markers_of(res.docs, tag)
    assert before > 100, f"the sender managed only {before} datagrams"
    assert len(got) >= before - 1, (f"{len(got)} markers delivered, {before} were sent "
                                    f"before {sig.name}")
    assert got == sent[:len(got)], "the delivered markers are not the sent ones in order"
    cap = L.capture_stats(res.stderr)
    summ = L.summary_stats(res.stderr)
    assert cap and summ, res.describe()
    assert cap["captured"] == summ["documents"] == str(len(res.docs)), (cap, summ)
    assert time.monotonic() - t_sig < 20


# --------------------------------------------------------------------------- start-up errors

def test_invalid_filter(lab, start_live):
    bad = "udp port notaport("
    res = start_live(f"--nic={lab.IF_A}", f"--bpf={bad}").finish(timeout=30)
    assert res.rc == 2, res.describe()
    assert f'invalid capture filter "{bad}"' in res.stderr, res.describe()
    assert res.stdout == b""


def test_unknown_interface(lab, start_live):
    res = start_live("--nic=espcapnosuch0").finish(timeout=30)
    assert res.rc == 2, res.describe()
    assert "espcapnosuch0" in res.stderr and "no interface named" in res.stderr, res.describe()
    assert res.stdout == b""


def test_interface_down(lab, start_live):
    ifname = lab.add_down_veth()
    res = start_live(f"--nic={ifname}").finish(timeout=30)
    assert res.rc == 3, res.describe()
    assert ifname in res.stderr and "down" in res.stderr, res.describe()
    assert res.stdout == b""


def test_no_permission(lab, start_live, espcap_bin):
    """As an unprivileged user: exit 3, and the message says it is not allowed."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) not found")
    probe = subprocess.run(["ip", "netns", "exec", lab.ns_a, setpriv, "--reuid=65534",
                            "--regid=65534", "--clear-groups", str(espcap_bin), "--version"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run the espcap binary here")
    res = start_live("--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                     str(espcap_bin), f"--nic={lab.IF_A}", binary=setpriv).finish(timeout=30)
    out = res.stderr
    assert res.rc == 3, res.describe()
    assert "not allowed" in out or "permission" in out.lower(), res.describe()


# --------------------------------------------------------------------------- --list-interfaces

@pytest.mark.parametrize("opt", ["--list-interfaces", "--list"])
def test_list_interfaces_shows_the_veth(lab, start_live, opt):
    res = start_live(opt).finish(timeout=30)
    assert res.rc == 0, res.describe()
    lines = res.stdout.decode().splitlines()
    names = []
    for i, line in enumerate(lines, 1):
        m = re.fullmatch(r"(\d+)\. (\S+)( \(.*\))?( \[down\])?", line)
        assert m, f"line {i} is not 'N. NAME (DESCRIPTION)': {line!r}"
        assert int(m.group(1)) == i, f"line {i} is numbered {m.group(1)}"
        names.append(m.group(2))
    assert lab.IF_A in names, f"{lab.IF_A} not listed: {lines}"
    assert "lo" in names
    assert lab.IF_B not in names, "an interface of the other namespace is listed"
