# SPDX-License-Identifier: GPL-2.0-or-later
"""Golden outputs: tests/golden/TESTLIST cases against tests/golden/NAME.ndjson.

Regenerate on purpose with tests/golden/update.sh [NAME...].
"""

import pytest

from helpers import golden as G

CASES = G.load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case, request, espcap_bin):
    sample = None
    if case.capture == "sample":
        sample = request.getfixturevalue("sample_pcap")
    else:
        cap = G.capture_path(case)
        if not cap.exists():
            pytest.skip(f"capture {cap} not found")
    if not case.expected_path.exists():
        pytest.fail(f"{case.expected_path} missing: review the output, then run "
                    f"tests/golden/update.sh {case.name}", pytrace=False)
    res, actual = G.run_case(case, sample)
    assert res.rc == 0, res.describe()
    expected = case.expected_path.read_text(encoding="utf-8").splitlines()
    diff = G.explain_difference(expected, actual)
    assert not diff, (f"golden case {case.name} ({' '.join([case.capture] + case.options)}) "
                      f"differs from {case.expected_path.name}:\n{diff}\n"
                      f"(if the change is intended: tests/golden/update.sh {case.name})")


def test_testlist_cases_have_expected_files():
    """Every TESTLIST case has an expected file and every expected file a case."""
    names = {c.name for c in CASES}
    files = {p.stem for p in G.GOLDEN_DIR.glob("*.ndjson")}
    assert not files - names, f"expected files without a TESTLIST case: {sorted(files - names)}"
