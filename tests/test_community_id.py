# SPDX-License-Identifier: GPL-2.0-or-later
"""community_id against an independent implementation of the Community ID spec.

espcap computes the Community ID (v1, seed 0, base64) of each packet's flow itself
(src/doc/community_id.c), from Wireshark's dissection: the last IP header at the top of
the tree (so tunnels are followed, and the packets that ICMP errors or sFlow samples quote
are not) and the TCP, UDP, SCTP, ICMP or ICMPv6 header after it; without one, the
IP-only form. Here the same rule is applied to each document and the flow handed to the
`communityid` package from PyPI, for every packet of the shared and generated captures:
every packet with an IP header must carry the value the package computes. The one form
the package refuses (a port protocol whose header was cut off: espcap then hashes
addresses and protocol, as for other protocols) is counted and reported.
"""

import json

import pytest

communityid = pytest.importorskip("communityid", reason="pip install communityid")

CID = communityid.CommunityID(seed=0, use_base64=True)
TRANSPORT = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58}


def _layer_values(doc, name):
    out = []
    for body in doc.get("layers", {}).values():
        for o in (body if isinstance(body, list) else [body]):
            for k, v in o.items():
                if k in (name, name + "._value"):
                    out.extend(v if isinstance(v, list) else [v])
    return out


ROLE_KEYS = ("link", "network", "transport", "application")


def _layers(doc):
    """(protocol, layer object) in document order; a section's protocol is told by its
    fields' names."""
    out = []
    for key, body in doc.get("layers", {}).items():
        for o in (body if isinstance(body, list) else [body]):
            if key in ROLE_KEYS:
                names = [k for k in o if k != "envelope" and "." in k]
                proto = names[0].split(".")[0] if names else key
                proto = "ipv6" if proto == "ipv6" else proto
            else:
                proto = key
            out.append((proto, o))
    return out


def _get(o, name):
    v = o.get(name, o.get(name + "._value"))
    return v[0] if isinstance(v, list) else v


def flow_of(doc):
    """The flow by espcap's documented rule, as a communityid FlowTuple, or a reason."""
    layers = _layers(doc)
    ips = [i for i, (p, _) in enumerate(layers) if p in ("ip", "ipv6")]
    if not ips:
        return None, "no IP"
    i = ips[-1]
    proto, o = layers[i]
    sa, da = _get(o, f"{proto}.src"), _get(o, f"{proto}.dst")
    if proto == "ip":
        num = _get(o, "ip.proto")
    else:
        nxts = [v for k, v in o.items() if k.startswith("ipv6") and k.split("._value")[0].endswith(".nxt")]
        num = nxts[-1] if nxts else None
        num = num[-1] if isinstance(num, list) else num
    for p, lo in layers[i + 1:]:
        if p not in TRANSPORT:
            continue
        if p in ("icmp", "icmpv6"):
            a, b = _get(lo, f"{p}.type"), _get(lo, f"{p}.code")
            if a is not None and b is not None:
                make = communityid.FlowTuple.make_icmp if p == "icmp" else \
                    communityid.FlowTuple.make_icmp6
                return make(sa, da, a, b), None
        else:
            a, b = _get(lo, f"{p}.srcport"), _get(lo, f"{p}.dstport")
            if a is not None and b is not None:
                return communityid.FlowTuple(TRANSPORT[p], sa, da, a, b), None
        num = TRANSPORT[p]
        break
    if sa is None or da is None or num is None:
        return None, "no IP"  # an IP header cut before its addresses or protocol
    if num in communityid.PORT_PROTOS or num in (1, 58):
        return None, "cut"  # a port protocol without its ports: the package refuses
    return communityid.FlowTuple(num, sa, da), None


def _check(lines, where):
    checked = cut = 0
    bad = []
    for line in lines:
        doc = json.loads(line)
        flow, why = flow_of(doc)
        if why == "no IP":
            assert "community_id" not in doc, \
                f"{where}: a packet without a whole IP header has one: {line[:200]}"
            continue
        if why == "cut":
            cut += 1
            assert doc.get("community_id", "").startswith("1:"), line[:300]
            continue
        checked += 1
        want = CID.calc(flow)
        if doc.get("community_id") != want:
            bad.append(f"  {doc.get('file_name')}#{doc['frame_number']} {doc['protocols']}: "
                       f"communityid {want} ({flow}), espcap {doc.get('community_id')}")
    assert not bad, f"{where}: {len(bad)} of {checked} packets differ:\n" + "\n".join(bad[:15])
    return checked, cut


@pytest.mark.parametrize("name", ["test_http.pcap", "test_dns.pcap"])
def test_shared(name, shared_pcaps, run_espcap, fidelity_report):
    res = run_espcap(f"--file={shared_pcaps / name}")
    assert res.rc == 0, res.describe()
    checked, cut = _check(res.lines, name)
    assert checked == len(res.lines), f"{name}: only {checked} of {len(res.lines)} checked"
    fidelity_report(f"community_id vs the communityid package: {name}: {checked} of {checked} "
                    f"packets agree")


def test_generated(sample_pcap, capgen_bin, tmp_path, run_espcap, fidelity_report):
    import subprocess
    mix = tmp_path / "mix.pcap"
    subprocess.run([str(capgen_bin), "bench", "5000", str(mix)], check=True, timeout=120)
    total = 0
    for p in (sample_pcap, mix):
        res = run_espcap(f"--file={p}")
        assert res.rc == 0, res.describe()
        checked, _ = _check(res.lines, p.name)
        assert checked > len(res.lines) // 2, f"{p}: only {checked} packets checked"
        total += checked
    fidelity_report(f"community_id vs the communityid package: the generator's captures: "
                    f"{total} of {total} packets agree")


def test_corpus(corpus_dir, espcap_cached, fidelity_report):
    res = espcap_cached(f"--dir={corpus_dir}", timeout=900)  # the run of test_corpus.py
    assert res.rc in (0, 1), res.describe()
    checked, cut = _check(res.lines, "the corpus")
    assert checked > 1500, f"only {checked} packets checked in the corpus"
    fidelity_report(f"community_id vs the communityid package: the corpus: {checked} of "
                    f"{checked} packets agree; {cut} cut before their ports (IP-only form, "
                    f"which the package does not compute)")


def test_no_community_id_where_there_is_no_flow(run_espcap, sample_pcap):
    """ARP and other packets without IP have none."""
    res = run_espcap(f"--file={sample_pcap}")
    docs = [json.loads(l) for l in res.lines]
    arp = [d for d in docs if d["protocol"] == "arp"]
    assert arp and not any("community_id" in d for d in arp)
