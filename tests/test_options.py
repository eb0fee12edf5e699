# SPDX-License-Identifier: GPL-2.0-or-later
"""The option table through the binary: --help, the man page and the README list every
option and are up to date; config file, environment and command line with their
precedence; bad values; short forms; secrets kept out of /proc/PID/cmdline; --version;
--summary-json; --quiet. (tests/unit/test_opt.c checks every row in C.)"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers import espcap as E
from helpers.ci import missing

sys.path.insert(0, str(E.ROOT / "scripts"))
import options_docs  # noqa: E402

from test_cli import assert_usage_error  # noqa: E402


def dump(run_espcap, fmt, *args, env=None):
    res = run_espcap(f"--dump-options={fmt}", *args, env=env)
    assert res.rc == 0, res.describe()
    return res.stdout.decode()


@pytest.fixture(scope="module")
def table(run_espcap):
    """[(name, value name or None, where it came from)] of every option, from the binary's
    own listing of values (every option but the actions)."""
    rows = []
    for line in dump(run_espcap, "values").splitlines():
        m = re.fullmatch(r"([a-z][a-z0-9-]*) = (.*)  # (default|config file|environment|"
                         r"command line)", line)
        assert m, f"unexpected line in --dump-options=values: {line!r}"
        rows.append((m.group(1), m.group(2), m.group(3)))
    return rows


@pytest.fixture(scope="module")
def help_text(run_espcap):
    res = run_espcap("--help")
    assert res.rc == 0
    return res.stdout.decode()


def documented(text, name, no_argv=False):
    """Whether TEXT documents the option NAME."""
    if no_argv:
        return f"ESPCAP_{name.upper().replace('-', '_')}" in text
    return re.search(rf"(?<![\w-])--{re.escape(name)}(?![\w-])", text) is not None


# --------------------------------------------------------------------------- documents

def test_table_is_sizeable(table):
    names = [n for n, _, _ in table]
    for must in ("file", "dir", "nic", "node", "bpf", "count", "chunk", "watch", "recursive",
                 "state-file", "progress", "quiet", "stats-interval", "summary-json", "config",
                 "password-file", "api-key-file", "user", "api-key", "password"):
        assert must in names, f"{must} is not in the option table: {names}"


def test_help_lists_every_option(table, help_text):
    for name, _, _ in table:
        assert documented(help_text, name, no_argv=name == "password"), \
            f"--help does not list --{name}"
    for action in ("help", "version", "dump-options", "list-interfaces"):
        assert documented(help_text, action)
    assert "espcap --d=/home/pcap_directory --node=localhost:9200" in help_text


def test_man_page_lists_every_option_and_is_current(table, espcap_bin):
    man = options_docs.MAN.read_text()
    for name, _, _ in table:
        roff = name.replace("-", r"\-")
        if name == "password":
            assert "ESPCAP_PASSWORD" in man
        else:
            assert rf"\fB\-\-{roff}\fR" in man, f"docs/espcap.1 does not list --{name}"
    for section in ("EXIT STATUS", "ENVIRONMENT", "CONFIGURATION FILE", "EXAMPLES"):
        assert f".SH {section}" in man
    want = options_docs.expected(espcap_bin)[options_docs.MAN]
    assert man == want, "docs/espcap.1 is out of date: run `make docs`"
    if shutil.which("groff") or shutil.which("nroff"):
        tool = shutil.which("groff") or shutil.which("nroff")
        args = [tool, "-man", "-Tutf8"] if tool.endswith("groff") else [tool, "-man"]
        p = subprocess.run(args + [str(options_docs.MAN)], capture_output=True, text=True,
                           timeout=60)
        text = re.sub(r".\x08", "", p.stdout).replace("\u2010", "-")  # no bold, ASCII dashes
        assert p.returncode == 0 and "--node-wait=SECS" in text, p.stderr
        assert "warning" not in p.stderr.lower(), p.stderr


def test_readme_lists_every_option_and_is_current(table, espcap_bin):
    readme = options_docs.README.read_text()
    block = readme.split(options_docs.BEGIN, 1)[1].split(options_docs.END, 1)[0]
    for name, _, _ in table:
        if name == "password":
            assert "`$ESPCAP_PASSWORD`" in block
        else:
            assert re.search(rf"`(-\w, )?--{re.escape(name)}(=[^`]*)?`", block), \
                f"README.md's option table does not list --{name}"
    want = options_docs.expected(espcap_bin)[options_docs.README]
    assert readme == want, "README.md's option table is out of date: run `make docs`"


def test_make_install_installs_the_man_page(repo_root, tmp_path):
    p = subprocess.run(["make", "-n", "install", f"DESTDIR={tmp_path}"], cwd=repo_root,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert re.search(r"install .*docs/espcap\.1 .*/share/man/man1/espcap\.1", p.stdout), p.stdout


def test_config_sample_loads(run_espcap, tmp_path, small_capture):
    """--dump-options=config is a config file espcap reads (once uncommented)."""
    sample = dump(run_espcap, "config")
    lines = [l[1:] for l in sample.splitlines() if re.match(r"#[a-z][a-z0-9-]* = \S", l)]
    names = [l.split(" = ", 1)[0] for l in lines]
    # every option with a value that could be in a config file is in the sample
    assert {"node", "chunk", "watch-settle", "state-file", "password"} <= set(names)
    keep = [l for l in lines if l.split(" = ", 1)[0] in
            ("max-bytes", "chunk", "chunk-bytes", "index-prefix", "flush-interval", "quiet")]
    conf = tmp_path / "sample.conf"
    conf.write_text("\n".join(keep) + "\n")
    res = run_espcap(f"--config={conf}", "--dump-options=values")
    assert res.rc == 0, res.describe()
    assert "chunk = 1000  # config file" in res.stdout.decode()


# --------------------------------------------------------------------------- precedence

def values(run_espcap, *args, env=None):
    out = {}
    for name, value, src in re.findall(r"^([a-z][a-z0-9-]*) = (.*)  # (.*)$",
                                       dump(run_espcap, "values", *args, env=env), re.M):
        out[name] = (value, src)
    return out


def test_precedence_default_config_env_argv(run_espcap, tmp_path):
    conf = tmp_path / "espcap.conf"
    conf.write_text("# sensor\nindex-prefix = from-config\nchunk = 11\nnode = 127.0.0.1:1\n"
                    "max-bytes = 64\ncompress\nignore = *.part\nignore = .*\n")
    env = {"ESPCAP_INDEX_PREFIX": "from-env", "ESPCAP_NODE": "127.0.0.2:2"}
    v = values(run_espcap, f"--config={conf}", "--node=127.0.0.3:3", env=env)
    assert v["in-flight"] == ("2", "default")
    assert v["chunk"] == ("11", "config file")
    assert v["max-bytes"] == ("64", "config file")
    assert v["compress"] == ("true", "config file")
    assert v["ignore"] == ("*.part, .*", "config file")
    assert v["index-prefix"] == ("from-env", "environment")
    assert v["node"] == ("127.0.0.3:3", "command line")
    # ESPCAP_CONFIG names the file too; --config beats it
    other = tmp_path / "other.conf"
    other.write_text("chunk = 22\n")
    assert values(run_espcap, env={"ESPCAP_CONFIG": str(conf)})["chunk"] == ("11", "config file")
    assert values(run_espcap, f"--config={other}",
                  env={"ESPCAP_CONFIG": str(conf)})["chunk"] == ("22", "config file")


def test_config_file_drives_a_run(run_espcap, tmp_path, small_capture):
    """Options from a config file act exactly like the same options on the command line."""
    conf = tmp_path / "espcap.conf"
    conf.write_text(f"file = {small_capture}\nmax-bytes = 16\n")
    a = run_espcap(f"--config={conf}")
    b = run_espcap(f"--file={small_capture}", "--max-bytes=16")
    assert a.rc == 0 and b.rc == 0, a.describe()
    assert a.stdout == b.stdout and a.lines
    # the command line's mode replaces the config file's; its max-bytes too
    d = tmp_path / "d"
    d.mkdir()
    c = run_espcap(f"--config={conf}", f"--dir={d}", "--max-bytes=256")
    assert c.rc == 0 and c.stdout == b"", c.describe()


@pytest.mark.parametrize("text,names", [
    ("bogus = 1\n", ["bogus", ":1"]),
    ("chunk = 0\n", ["chunk", "'0'", ":1"]),
    ("# ok\nchunk-bytes = 9G\n", ["chunk-bytes", "'9G'", ":2"]),
    ("help\n", ["help", ":1"]),
    ("config = x\n", ["config", ":1"]),
    ("watch = maybe\n", ["watch", "'maybe'"]),
    ("file = a\ndir = b\n", ["--file", "--dir", ":2"]),
    ("node\n", ["node", "needs a value"]),
], ids=["unknown", "below-min", "above-max", "action", "nested-config", "bad-flag",
        "two-modes", "no-value"])
def test_config_file_errors(run_espcap, tmp_path, text, names):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    assert_usage_error(run_espcap(f"--config={conf}"), str(conf), *names)


def test_environment_errors(run_espcap, small_capture):
    res = run_espcap(f"--file={small_capture}", env={"ESPCAP_INDEX_PREFIX": "Upper"})
    assert_usage_error(res, "ESPCAP_INDEX_PREFIX", "--index-prefix", "'Upper'")


def test_missing_config_file(run_espcap, tmp_path):
    assert_usage_error(run_espcap(f"--config={tmp_path}/none.conf"), "--config", "none.conf")


# --------------------------------------------------------------------------- values

NUMERIC = re.compile(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)=(N|BYTES|SECS)\b", re.M)


def numeric_options(help_text):
    return NUMERIC.findall(help_text)


def test_every_numeric_option_refuses_bad_values(run_espcap, help_text, small_capture):
    opts = numeric_options(help_text)
    assert len(opts) >= 8, opts
    mode = {"count": "--nic=lo", "reset-every": "--nic=lo", "stats-interval": "--nic=lo",
            "spool-size": "--nic=lo", "watch-settle": f"--dir={small_capture.parent}"}
    for name, kind in opts:
        for bad in ("abc", "-5", "1.5.5" if kind == "SECS" else "1.5", ""):
            res = run_espcap(mode.get(name, f"--file={small_capture}"), f"--{name}={bad}")
            assert_usage_error(res, f"--{name}", f"'{bad}'" if bad else "")


@pytest.mark.parametrize("arg,names", [
    ("--chunk-bytes=2G", ["--chunk-bytes", "'2G'", "maximum", "32-bit"]),
    ("--chunk-bytes=1023", ["--chunk-bytes", "'1023'", "minimum"]),
    ("--in-flight=17", ["--in-flight", "'17'", "16"]),
    ("--in-flight=0", ["--in-flight", "'0'"]),
    ("--chunk=1000001", ["--chunk", "1000000"]),
    ("--max-bytes=2G", ["--max-bytes", "'2G'"]),
    ("--flush-interval=3601", ["--flush-interval", "3600"]),
    ("--node-wait=nan", ["--node-wait", "'nan'"]),
    ("--index-prefix=Packets", ["--index-prefix", "'Packets'", "lower case"]),
    ("--node=ftp://x", ["--node", "'ftp://x'"]),
    ("--insecure=yes", ["--insecure", "takes no value"]),
    ("--dump-options=pdf", ["--dump-options", "'pdf'"]),
    ("--index-interval=week", ["--index-interval", "'week'", "day, month, year, none"]),
    ("--index-interval=Day", ["--index-interval", "'Day'"]),
    ("--min-year=10000", ["--min-year", "'10000'", "9999"]),
    ("--min-year=-1", ["--min-year", "'-1'"]),
    ("--max-future=604801", ["--max-future", "'604801'", "604800"]),
    ("--shards=0", ["--shards", "'0'", "1"]),
    ("--shards=1025", ["--shards", "'1025'", "1024"]),
    ("--replicas=65", ["--replicas", "'65'", "64"]),
    ("--replicas=x", ["--replicas", "'x'"]),
], ids=lambda x: x if isinstance(x, str) else None)
def test_bounds(run_espcap, small_capture, arg, names):
    assert_usage_error(run_espcap(f"--file={small_capture}", arg), *names)


@pytest.mark.parametrize("args,names", [
    (["--watch"], ["--watch", "--dir", "--file"]),
    (["--recursive"], ["--recursive", "--dir"]),
    (["--bpf=tcp"], ["--bpf", "--nic", "--file"]),
    (["--count=5"], ["--count", "--nic"]),
    (["--reset-every=5"], ["--reset-every", "--nic"]),
    (["--stats-interval=5"], ["--stats-interval", "--nic"]),
    (["--spool-dir=x"], ["--spool-dir", "--nic"]),
], ids=["watch", "recursive", "bpf", "count", "reset-every", "stats-interval", "spool-dir"])
def test_options_of_another_mode(run_espcap, small_capture, args, names):
    assert_usage_error(run_espcap(f"--file={small_capture}", *args), *names)


def test_ambiguous_seed_prefixes(run_espcap, small_capture, tmp_path):
    """--co is --count (not --compress or --config); --ch is --chunk; --n stays ambiguous."""
    v = values(run_espcap, "--co=7", "--ch=9")
    assert v["count"] == ("7", "command line") and v["chunk"] == ("9", "command line")
    line = assert_usage_error(run_espcap("--n=x"), "--n")
    assert "--nic" in line and "--node" in line
    assert_usage_error(run_espcap("--password=x"), "--password", "ESPCAP_PASSWORD")


def test_short_options(run_espcap, small_capture):
    ref = run_espcap(f"--file={small_capture}")
    for args in (["-r", str(small_capture)], [f"-r{small_capture}"],
                 ["-q", "-r", str(small_capture)], [f"-qr{small_capture}"]):
        res = run_espcap(*args)
        assert res.rc == 0 and res.stdout == ref.stdout, res.describe()
    h = run_espcap("-h")
    assert h.rc == 0 and b"--file" in h.stdout
    v = run_espcap("-v")
    assert v.rc == 0 and v.stdout.startswith(b"espcap ")
    assert_usage_error(run_espcap("-Z"), "-Z")
    assert_usage_error(run_espcap("-r"), "-r", "--file")


# --------------------------------------------------------------------------- secrets

def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_secrets_not_in_proc_cmdline(espcap_bin, small_capture, tmp_path):
    """--user=U:P and --api-key=K are blanked out of argv once read: /proc/PID/cmdline,
    read while espcap runs (waiting for a node that is not there), does not hold them."""
    pw, key = "pw-7f3a9c1e", "key-b2d4e6f8"
    port = _closed_port()
    cmd = [str(espcap_bin), f"--file={small_capture}", f"--node=127.0.0.1:{port}",
           "--node-wait=30", "--user", f"alice:{pw}", f"--api-key={key}",
           f"--rejected={tmp_path}/rejected.ndjson"]
    errf = tmp_path / "stderr"
    with open(errf, "wb") as err_out:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_out, cwd=tmp_path)
    try:
        # once espcap says it cannot reach the node, it is well past reading its options
        deadline = time.monotonic() + 30
        while b"cannot reach" not in errf.read_bytes() and time.monotonic() < deadline:
            assert p.poll() is None, f"espcap ended early: {errf.read_text()}"
            time.sleep(0.05)
        assert b"cannot reach" in errf.read_bytes(), errf.read_text()
        seen = open(f"/proc/{p.pid}/cmdline", "rb").read()
        assert b"--node-wait=30" in seen and b"--user" in seen, seen
        assert pw.encode() not in seen and key.encode() not in seen, \
            f"a secret is visible in /proc/{p.pid}/cmdline: {seen!r}"
        assert b"alice" not in seen, "the --user value should be blanked as a whole"
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    err = errf.read_text()
    assert pw not in err and key not in err, err
    assert p.returncode == 3, err  # stopped while waiting for the node


def test_secret_values_never_printed(run_espcap, small_capture):
    res = run_espcap(f"--file={small_capture}", "--user=alice:pw-0a1b2c", "--dump-options=values")
    assert b"pw-0a1b2c" not in res.stdout and b"user = ***" in res.stdout, res.stdout
    res = run_espcap(f"--file={small_capture}", "--node=127.0.0.1:9", "--api-key=")
    assert_usage_error(res, "--api-key")


# --------------------------------------------------------------------------- reports

def test_version_names_the_libraries(run_espcap):
    res = run_espcap("--version")
    assert res.rc == 0, res.describe()
    out = res.stdout.decode()
    assert re.search(r"^espcap \d+\.\d+\.\d+$", out, re.M), out

    def pkg(name):
        p = subprocess.run(["pkg-config", "--modversion", name], capture_output=True, text=True)
        if p.returncode != 0:
            missing(f"pkg-config knows no {name}")
        return p.stdout.strip()
    assert re.search(rf"^libpcap version {re.escape(pkg('libpcap'))}\b", out, re.M), out
    m = re.search(rf"^libcurl {re.escape(pkg('libcurl'))} with (\S+)", out, re.M)
    assert m and re.match(r"(OpenSSL|GnuTLS|mbedTLS|wolfSSL|BoringSSL|LibreSSL|rustls|NSS)",
                          m.group(1)), out
    assert re.search(rf"^GLib {re.escape(pkg('glib-2.0'))}$", out, re.M), out
    assert re.search(rf"^zlib {re.escape(pkg('zlib'))}\b", out, re.M), out


def test_summary_json_matches_the_summary_line(run_espcap, tmp_path, small_capture):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(small_capture, d / "a.pcap")
    (d / "b.txt").write_text("not a capture\n")
    out = tmp_path / "summary.json"
    res = run_espcap(f"--dir={d}", f"--summary-json={out}")
    assert res.rc == 1, res.describe()
    js = json.loads(out.read_text())
    line = res.summary
    for k, v in line.items():
        if k == "elapsed":
            assert abs(js[k] - float(v.rstrip("s"))) < 0.02, (k, v, js[k])
        elif k == "rate":
            assert abs(js[k] - float(v.rstrip("/s"))) <= 1, (k, v, js[k])
        else:
            assert js[k] == int(v), (k, v, js[k])
    # and the spread over the dissection workers, which the line leaves out
    assert set(js) == set(line) | {"exit_status", "workers", "worker_packets"}, js
    assert js["workers"] == len(js["worker_packets"]) == os.cpu_count(), js
    assert sum(js["worker_packets"]) == js["packets"], js
    assert js["exit_status"] == 1
    assert not list(tmp_path.glob("summary.json.tmp"))
    assert_usage_error(run_espcap(f"--file={small_capture}",
                                  f"--summary-json={tmp_path}/no/such/dir/s.json"),
                       "--summary-json")


def test_quiet(run_espcap, tmp_path, small_capture):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(small_capture, d / "a.pcap")
    (d / "b.txt").write_text("not a capture\n")
    loud = run_espcap(f"--dir={d}")
    quiet = run_espcap("-q", f"--dir={d}", "--progress")
    assert loud.warnings and not quiet.warnings, quiet.describe()
    assert quiet.rc == loud.rc == 1
    assert quiet.stdout == loud.stdout
    assert quiet.stderr_lines == [quiet.summary_line], quiet.describe()
    # errors stay
    res = run_espcap("-q", f"--file={small_capture}", f"--protocols-list={tmp_path}/none")
    assert res.rc == 3 and "protocols" in res.stderr
