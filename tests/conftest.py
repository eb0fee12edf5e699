# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared fixtures for espcap's end-to-end tests.

The binary under test is ./espcap at the repo root ($ESPCAP_BIN overrides).
Captures come from ../shared/pcaps (never copied into the repo; tests that need
them skip when it is absent) and from build/capgen (tests that need it skip
until it is built).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ci  # noqa: E402
from helpers import espcap as E  # noqa: E402
from helpers import tshark as T  # noqa: E402


# Under CI=true nothing may be skipped quietly: a test skipped because a part it needs is
# missing (a capture, a tool, root, a node) fails instead. Only a deliberate opt-out by the
# person running the tests (ESPCAP_TEST_ES7=0, ESPCAP_TEST_ENGINES=...) stays a skip.
_OPT_OUTS = ("ESPCAP_TEST_ES7=0", "ESPCAP_TEST_ENGINES=")


def _ci_fails_skip(rep):
    if not rep.skipped or hasattr(rep, "wasxfail") or not ci.in_ci():
        return
    reason = str(rep.longrepr[-1] if isinstance(rep.longrepr, tuple) else rep.longrepr)
    if any(o in reason for o in _OPT_OUTS):
        return
    rep.outcome = "failed"
    rep.longrepr = f"CI=true, and this was skipped for a missing part: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _ci_fails_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _ci_fails_skip(outcome.get_result())


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long-running test (runs by default; deselect with -m 'not slow')")
    config._espcap_reports = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = getattr(config, "_espcap_reports", [])
    if lines:
        terminalreporter.section("agreement with Wireshark")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def fidelity_report(request):
    """fidelity_report(line): a line for the terminal summary (agreement figures)."""
    return request.config._espcap_reports.append


@pytest.fixture(scope="session")
def repo_root():
    return E.ROOT


@pytest.fixture(scope="session")
def espcap_bin():
    path = E.espcap_path()
    if not path.exists():
        pytest.fail(f"espcap binary not found at {path} (run `make`, or set ESPCAP_BIN)",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared_pcaps():
    if not E.SHARED_PCAPS.is_dir():
        pytest.skip(f"shared captures not found at {E.SHARED_PCAPS} "
                    "(../shared/pcaps relative to the repo root)")
    return E.SHARED_PCAPS


def _shared_file(shared, name):
    p = shared / name
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


@pytest.fixture(scope="session")
def http_pcap(shared_pcaps):
    return _shared_file(shared_pcaps, "test_http.pcap")


@pytest.fixture(scope="session")
def dns_pcap(shared_pcaps):
    return _shared_file(shared_pcaps, "test_dns.pcap")


@pytest.fixture(scope="session")
def corpus_dir(shared_pcaps):
    p = shared_pcaps / "corpus"
    if not p.is_dir():
        pytest.skip(f"{p} not found")
    return p


@pytest.fixture(scope="session")
def corpus_expected(corpus_dir, need_tshark):
    """{name: (count_or_None, error_text)} from Wireshark's reader (capinfos) for every
    regular file of the corpus, in byte order of the names; once per session."""
    from collections import OrderedDict
    from concurrent.futures import ThreadPoolExecutor
    names = sorted((n for n in os.listdir(corpus_dir) if (corpus_dir / n).is_file()),
                   key=lambda n: n.encode())
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: T.count(corpus_dir / n), names))
    return OrderedDict(zip(names, results))


@pytest.fixture(scope="session")
def need_tshark():
    if not T.available() or shutil.which("capinfos") is None:
        pytest.skip("tshark/capinfos not installed")


@pytest.fixture(scope="session")
def capgen_bin(repo_root):
    path = repo_root / "build" / "capgen"
    if not path.exists():
        pytest.skip(f"{path} not built yet (run `make`)")
    return path


@pytest.fixture(scope="session")
def sample_pcap(capgen_bin, tmp_path_factory):
    """The generated sample capture (build/capgen sample), made once per session."""
    out = tmp_path_factory.mktemp("sample") / "sample.pcap"
    p = subprocess.run([str(capgen_bin), "sample", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"capgen sample failed ({p.returncode}): {p.stderr}"
    assert out.exists() and out.stat().st_size > 24, "capgen sample wrote no capture"
    return out


@pytest.fixture(scope="session")
def small_capture(request, repo_root):
    """A small valid capture: the generated sample, else test_dns.pcap."""
    if (repo_root / "build" / "capgen").exists():
        return request.getfixturevalue("sample_pcap")
    return request.getfixturevalue("dns_pcap")


@pytest.fixture(scope="session")
def run_espcap(espcap_bin):
    """run_espcap(*args, timeout=120, cwd=None, env=None) -> helpers.espcap.Result.

    Result has .rc, .stdout (bytes), .lines, .docs (parsed, AssertionError on a
    bad line), .stderr, .stderr_lines, .summary (dict), .warnings, .warnings_for(path).
    """
    def run(*args, **kw):
        return E.run(list(args), binary=espcap_bin, **kw)
    return run


@pytest.fixture(scope="session")
def espcap_cached(run_espcap):
    """Like run_espcap, but each distinct argument list runs only once per session."""
    cache = {}

    def run(*args, timeout=300):
        key = tuple(str(a) for a in args)
        if key not in cache:
            cache[key] = run_espcap(*args, timeout=timeout)
        return cache[key]
    return run


@pytest.fixture(scope="session")
def tshark_fields_cached(need_tshark):
    """tshark_fields_cached(path, names) -> rows; tshark runs once per (path, names)."""
    cache = {}

    def get(path, names, display_filter=None):
        key = (str(path), tuple(names), display_filter)
        if key not in cache:
            cache[key] = T.fields(path, names, display_filter=display_filter)
        return cache[key]
    return get


@pytest.fixture(scope="session")
def field_types(need_tshark):
    """{field name: FT_* type} of every registered Wireshark field."""
    return T.registered_fields()


@pytest.fixture(scope="session")
def protocols_list(repo_root):
    """The protocol names in conf/protocols.list (skip if it does not exist yet)."""
    p = repo_root / "conf" / "protocols.list"
    if not p.exists():
        pytest.skip(f"{p} not found")
    names = []
    for line in p.read_text().splitlines():
        line = line.split("#", 1)[0]
        names.extend(t for t in line.replace(",", " ").split() if t)
    return names
