# SPDX-License-Identifier: GPL-2.0-or-later
"""The corners of indexing where documents used to be lost or mis-typed, each provoked for
real against the session's OpenSearch node (issue 10, item 4):

- a request too large for a proxy (a real nginx with client_max_body_size: HTTP 413) is
  sent again in halves down to one document; only a document too large by itself is a
  dead letter;
- a whole request failing (nginx in front of a dead upstream: 502) is retried, and the
  warning names the HTTP status; once nginx is reconfigured, everything lands;
- an index blocked for writes (index.blocks.write, .read_only, .read_only_allow_delete,
  what a full disk does) is waited out, never dead-lettered at once, with a warning that
  names the node's reason and the index; once unblocked everything lands, mapped as it
  should be;
- a fatal end (nginx made to answer 401 in the middle of a run) counts and dead-letters
  every document not confirmed, in valid NDJSON;
- the dead-letter file and the spool folder: 0600, never through a symbolic link, never
  in a folder anyone may write to without the sticky bit.
"""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from es_support import (packet_dates, summary_from_text, summary_ints, wait_for_count)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import nginx as NG  # noqa: E402
from helpers.ci import missing  # noqa: E402

DNS_PACKETS = 108
HTTP_PACKETS = 1268
# A warning about documents that wait, as issue 10 shapes it.
WAIT = r"(\d+) documents wait for http://127\.0\.0\.1:\d+: {}; retrying in \d+\.\d s"


@pytest.fixture
def nginx_ok():
    """Debian's nginx and openssl are there (a skip, or a failure under CI=true)."""
    if not NG.available():
        missing("needs Debian's nginx and openssl")


# --------------------------------------------------------------------------- helpers

class Front:
    """A real nginx in front of the node. ROUTES is the text of the locations; reload()
    swaps them while the server runs (SIGHUP, as `nginx -s reload`)."""

    BEGIN, END = "# routes-begin", "# routes-end"

    def __init__(self, workdir, node, routes, max_body="0"):
        self.node = node
        text = ("log_format espcap_bulk '$status $request_method $uri $content_length';\n"
                "server {\n    listen 127.0.0.1:%(port)d;\n"
                f"    client_max_body_size {max_body};\n"
                "    proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n"
                # no temporary files (nginx's workers may not write the test's folder)
                "    client_body_buffer_size 16m;\n    proxy_max_temp_file_size 0;\n"
                f"    {self.BEGIN}\n{routes}\n    {self.END}\n"
                "}\n")
        self.web = NG.Nginx(workdir, text)
        # the bulk log, beside nginx's own
        conf = self.web.conf.read_text()
        conf = conf.replace("server {\n", "server {\n    access_log "
                            f"{self.web.dir}/logs/bulk.log espcap_bulk;\n", 1)
        self.web.conf.write_text(conf)

    @property
    def hostport(self):
        return f"127.0.0.1:{self.web.port}"

    def reload(self, routes):
        conf = self.web.conf.read_text()
        a, b = conf.index(self.BEGIN) + len(self.BEGIN), conf.index(self.END)
        self.web.conf.write_text(conf[:a] + "\n" + routes + "\n    " + conf[b:])
        self.web.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)   # the new workers take over
        assert self.web.proc.poll() is None, self.web.log()

    def bulk_log(self):
        """[(status, content length)] of the _bulk requests nginx saw."""
        p = self.web.dir / "logs" / "bulk.log"
        out = []
        for line in (p.read_text().splitlines() if p.exists() else []):
            st, _, uri, length = line.split(" ")
            if uri == "/_bulk":
                out.append((int(st), int(length) if length.isdigit() else 0))
        return out

    def __enter__(self):
        self.web.start()
        return self

    def __exit__(self, *exc):
        self.web.stop()


def proxy_all(node):
    return f"    location / {{ proxy_pass http://127.0.0.1:{node.port}; }}"


def spawn(espcap_bin, args, workdir, name="espcap"):
    """espcap in the background, stderr to WORKDIR/NAME.err."""
    err = open(workdir / f"{name}.err", "wb")
    p = subprocess.Popen([str(espcap_bin)] + [str(a) for a in args], cwd=str(workdir),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    p.err_path = workdir / f"{name}.err"
    return p


def stderr_of(p):
    return p.err_path.read_text("utf-8", "replace")


def wait_stderr(p, pattern, timeout=60):
    """Wait until stderr matches PATTERN (a regex); the match, or None if espcap ended or
    the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, stderr_of(p))
        if m or p.poll() is not None:
            return m
        time.sleep(0.2)
    return re.search(pattern, stderr_of(p))


def finish(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"espcap did not end within {timeout} s:\n{stderr_of(p)[-3000:]}")


def dead_letters(path):
    """The dead-letter file's lines, each parsed (AssertionError if one is not JSON)."""
    data = Path(path).read_bytes()
    assert data.endswith(b"\n"), "the dead-letter file does not end with a newline"
    out = []
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise AssertionError(f"dead letter {i + 1} is not valid JSON ({e}): "
                                 f"{line[:300]!r}") from None
    return out


def assert_private(path):
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, f"{path} has mode {mode:04o}, not 0600"


def leaf_type(mapping, index, path):
    props = mapping[index]["mappings"]["properties"]
    parts = path.split(".")
    # layers.<layer>.<dotted Wireshark name>: objects down to the layer, then the name's
    # own dots are objects too
    for p in parts[:-1]:
        props = props[p]["properties"]
    return props[parts[-1]].get("type")


# --------------------------------------------------------------------------- 413

def test_413_splits_in_halves_down_to_one_document(nginx_ok, es_node, http_pcap, espcap_bin, prefix,
                                                     tmp_path, run_espcap):
    """nginx refuses bodies over 64 KiB (413). One document of test_http.pcap is larger
    than that by itself: it alone is a dead letter; every other one is indexed, in
    requests nginx accepts."""
    limit = 64 * 1024
    docs = run_espcap(f"--file={http_pcap}", timeout=120).stdout.splitlines()
    assert len(docs) == HTTP_PACKETS
    # a document's request: its action line (about 100 bytes) and its line
    too_big = [json.loads(d)["frame_number"] for d in docs if len(d) + 1 + 130 > limit]
    assert len(too_big) == 1 and not [d for d in docs if limit - 400 < len(d) + 1 < limit], \
        "the capture no longer has exactly one document clearly over the limit"

    es_node.clean(prefix)
    dead = tmp_path / "dead.ndjson"
    with Front(tmp_path, es_node, proxy_all(es_node), max_body="64k") as front:
        p = spawn(espcap_bin, [f"--file={http_pcap}", f"--node={front.hostport}",
                               f"--index-prefix={prefix}", f"--rejected={dead}"], tmp_path)
        rc = finish(p, 240)
        bulk = front.bulk_log()
    err = stderr_of(p)
    assert rc == 1, f"exit status {rc}, want 1 (one dead letter)\n{err[-3000:]}"
    s = summary_from_text(err)
    assert (s["documents"], s["rejected"]) == (HTTP_PACKETS, 1), err[-2000:]
    assert s["indexed"] + s["already_present"] == HTTP_PACKETS - 1, err[-2000:]
    assert es_node.count(prefix) == HTTP_PACKETS - 1
    assert re.search(r"HTTP 413\).*in halves", err), f"no word of the halving:\n{err[-3000:]}"

    letters = dead_letters(dead)
    assert len(letters) == 1, letters
    assert letters[0]["status"] == 413
    assert letters[0]["document"]["frame_number"] == too_big[0]
    assert isinstance(letters[0]["error"], str) and "413" in letters[0]["error"], \
        f"nginx's HTML page should be kept as a string: {letters[0]['error']!r}"
    assert_private(dead)

    # what nginx saw: refusals, then requests it took, none over the limit
    refused = [n for st, n in bulk if st == 413]
    took = [n for st, n in bulk if st == 200]
    assert refused and min(refused) > limit, bulk[:20]
    assert len(took) > 10 and max(took) <= limit, (len(took), max(took or [0]))


# --------------------------------------------------------------------------- 502

def test_whole_request_failure_names_the_status(nginx_ok, es_node, dns_pcap, espcap_bin, prefix,
                                                tmp_path):
    """nginx answers 502 for _bulk (its upstream is a port nobody listens on): espcap waits,
    saying "HTTP 502"; nginx reloaded to the node, every document lands once."""
    dead_port = NG.free_port()
    es_node.clean(prefix)
    routes = f"    location = /_bulk {{ proxy_pass http://127.0.0.1:{dead_port}; }}\n"
    with Front(tmp_path, es_node, routes + proxy_all(es_node)) as front:
        p = spawn(espcap_bin, [f"--file={dns_pcap}", f"--node={front.hostport}",
                               f"--index-prefix={prefix}",
                               f"--rejected={tmp_path}/dead.ndjson"], tmp_path)
        try:
            m = wait_stderr(p, WAIT.format(r"HTTP 502"), timeout=60)
            assert m, f"no warning naming HTTP 502:\n{stderr_of(p)[-3000:]}"
            assert int(m.group(1)) > 0
            front.reload(proxy_all(es_node))
            rc = finish(p, 120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    err = stderr_of(p)
    assert rc == 0, err[-3000:]
    s = summary_from_text(err)
    assert (s["documents"], s["rejected"]) == (DNS_PACKETS, 0), err[-2000:]
    assert s["indexed"] + s["already_present"] == DNS_PACKETS and s["retried"] > 0, s
    assert es_node.count(prefix) == DNS_PACKETS
    assert not (tmp_path / "dead.ndjson").exists()


# --------------------------------------------------------------------------- blocks

BLOCKS = {
    # per item: 403 FORBIDDEN/8/index write
    "write": ("index.blocks.write",
              WAIT.format(r"cluster_block_exception on {prefix}-\d{{4}}-\d\d-\d\d")),
    # mapping requests and items: 403 FORBIDDEN/5/index read-only
    "read_only": ("index.blocks.read_only",
                  r"(mappings for|creating) index {prefix}-\d{{4}}-\d\d-\d\d waits? for "
                  r"http://127\.0\.0\.1:\d+: HTTP 403: cluster_block_exception"),
    # what a full disk does (the flood-stage watermark); OpenSearch answers 429 to it
    "flood_stage": ("index.blocks.read_only_allow_delete",
                               r"wait.*HTTP 429.*cluster_block_exception"),
}


@pytest.mark.parametrize("block", list(BLOCKS))
def test_blocked_index_is_waited_out(es_node, dns_pcap, tshark_fields_cached, espcap_bin,
                                     prefix, tmp_path, block):
    setting, pattern = BLOCKS[block]
    es_node.clean(prefix)
    days = sorted(packet_dates(tshark_fields_cached, dns_pcap))
    for day in days:
        es_node.request("PUT", f"/{prefix}-{day}", {"settings": {setting: True}})
    dead = tmp_path / "dead.ndjson"
    p = spawn(espcap_bin, [f"--file={dns_pcap}", f"--node={es_node.hostport}",
                           f"--index-prefix={prefix}", f"--rejected={dead}"], tmp_path)
    try:
        m = wait_stderr(p, pattern.format(prefix=re.escape(prefix)), timeout=60)
        assert m, (f"no warning naming the block and the index "
                   f"(/{pattern.format(prefix=prefix)}/):\n{stderr_of(p)[-3000:]}")
        assert p.poll() is None, stderr_of(p)[-3000:]
        time.sleep(1)
        assert es_node.count(prefix) == 0 and not dead.exists(), \
            "documents were dead-lettered (or indexed) while the index was blocked"
        for day in days:   # someone frees space
            es_node.request("PUT", f"/{prefix}-{day}/_settings", {setting: None})
        rc = finish(p, 120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = stderr_of(p)
    assert rc == 0, err[-3000:]
    s = summary_from_text(err)
    assert (s["documents"], s["rejected"]) == (DNS_PACKETS, 0), err[-2000:]
    assert s["indexed"] == DNS_PACKETS, s
    assert es_node.count(prefix) == DNS_PACKETS
    assert not dead.exists()
    # the fields were mapped by espcap, not guessed by dynamic mapping
    maps = es_node.mapping(prefix)
    index = f"{prefix}-{days[0]}"
    assert leaf_type(maps, index, "layers.network.ip.src") == "ip"
    assert leaf_type(maps, index, "layers.transport.udp.srcport") == "long"


# --------------------------------------------------------------------------- fatal end

def test_fatal_end_dead_letters_every_unconfirmed_document(nginx_ok, es_node, bench_pcap, espcap_bin,
                                                           prefix, tmp_path):
    """In the middle of a run nginx starts answering 401 (credentials refused): espcap
    stops (exit 3), and every document it had not had confirmed (waiting, under way) is
    counted as rejected and dead-lettered, each line valid JSON."""
    pcap, n = bench_pcap
    es_node.clean(prefix)
    dead = tmp_path / "dead.ndjson"
    with Front(tmp_path, es_node, proxy_all(es_node)) as front:
        p = spawn(espcap_bin, [f"--file={pcap}", f"--node={front.hostport}",
                               f"--index-prefix={prefix}", "--chunk=300", "--in-flight=4",
                               f"--rejected={dead}"], tmp_path)
        try:
            seen = wait_for_count(es_node, prefix, 2000, proc=p, timeout=120, interval=0.3)
            assert p.poll() is None and seen >= 2000, \
                f"espcap ended before the switch ({seen} indexed):\n{stderr_of(p)[-2000:]}"
            front.reload("    location / { return 401; }")
            rc = finish(p, 90)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    err = stderr_of(p)
    assert rc == 3, f"exit status {rc}, want 3\n{err[-3000:]}"
    assert "refused the credentials (HTTP 401)" in err, err[-3000:]
    s = summary_from_text(err)
    assert s is not None, err[-3000:]
    assert 0 < s["documents"] < n, s
    assert s["rejected"] > 0, f"nothing was left unconfirmed? {s}"
    assert s["documents"] == s["indexed"] + s["already_present"] + s["rejected"], \
        f"documents not accounted for: {s}"
    letters = dead_letters(dead)
    assert len(letters) == s["rejected"], (len(letters), s)
    for d in letters:
        assert d["status"] in (0, 401), d["status"]
        assert d["action"]["create"]["_index"].startswith(prefix + "-")
        assert isinstance(d["document"], dict) and "frame_number" in d["document"]
    assert any(d["status"] == 0 and isinstance(d["error"], dict)
               and d["error"].get("type") == "not_delivered" for d in letters), letters[:2]
    assert_private(dead)
    indexed = es_node.count(prefix)
    assert s["indexed"] <= indexed <= s["indexed"] + s["rejected"], (indexed, s)


# --------------------------------------------------------------------------- files

def test_dead_letter_file_and_spool_folder_rules(run_espcap, dns_pcap, tmp_path):
    """Refused at start-up (exit 2, naming the option and why): a dead-letter path that is
    a symbolic link, one in a folder anyone may write to without the sticky bit, one in a
    sticky folder (as /tmp) that someone else made. Refused when the sink opens it, before
    the node is asked (exit 3, naming the folder and why): a spool folder that is a
    symbolic link, that anyone may write to, or that someone else made in a sticky folder
    anyone may write to. Nothing is created at a link's target."""
    node = "--node=127.0.0.1:1"   # never reached: the checks come first
    target = tmp_path / "target.ndjson"
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)
    res = run_espcap(f"--file={dns_pcap}", node, f"--rejected={link}", cwd=tmp_path)
    assert res.rc == 2 and "--rejected" in res.stderr and "symbolic link" in res.stderr, \
        res.describe()
    assert not target.exists()

    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    res = run_espcap(f"--file={dns_pcap}", node, f"--rejected={open_dir}/dead.ndjson",
                     cwd=tmp_path)
    assert res.rc == 2 and "sticky" in res.stderr, res.describe()

    if os.geteuid() == 0:   # someone else's file in a sticky folder anyone may write to
        sticky = tmp_path / "sticky"
        sticky.mkdir()
        sticky.chmod(0o1777)
        planted = sticky / "dead.ndjson"
        planted.write_text("")
        os.chown(planted, 65534, 65534)
        planted.chmod(0o666)
        res = run_espcap(f"--file={dns_pcap}", node, f"--rejected={planted}", cwd=tmp_path)
        assert res.rc == 2 and "belongs to uid 65534" in res.stderr, res.describe()

    # the spool folder (live mode; the node is never reached: the spool comes first)
    real = tmp_path / "spool-real"
    real.mkdir()
    spool_link = tmp_path / "spool-link"
    spool_link.symlink_to(real)
    res = run_espcap("--nic=lo", node, f"--spool-dir={spool_link}",
                     f"--rejected={tmp_path}/dead.ndjson", cwd=tmp_path, timeout=60)
    assert res.rc == 3 and f"spool {spool_link}" in res.stderr \
        and "symbolic link" in res.stderr, res.describe()
    real.chmod(0o777)
    res = run_espcap("--nic=lo", node, f"--spool-dir={real}",
                     f"--rejected={tmp_path}/dead.ndjson", cwd=tmp_path, timeout=60)
    assert res.rc == 3 and f"spool {real}" in res.stderr and "anyone" in res.stderr, \
        res.describe()
    assert not (tmp_path / "dead.ndjson").exists()
    real.chmod(0o700)

    if os.geteuid() == 0:   # a spool folder someone else made in a sticky folder
        sticky = tmp_path / "sticky2"
        sticky.mkdir()
        sticky.chmod(0o1777)
        theirs = sticky / "spool"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 65534, 65534)
        res = run_espcap("--nic=lo", node, f"--spool-dir={theirs}",
                         f"--rejected={tmp_path}/dead.ndjson", cwd=tmp_path, timeout=60)
        assert res.rc == 3 and "belongs to uid 65534" in res.stderr, res.describe()
