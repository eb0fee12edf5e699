# SPDX-License-Identifier: GPL-2.0-or-later
"""Missing parts of the test environment: a skip on a developer's machine, a failure
under CI=true (where nothing may be skipped quietly)."""

import os

import pytest


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


def missing(why):
    """Skip the test because WHY; under CI=true fail it instead."""
    if in_ci():
        pytest.fail(f"CI=true, and a part this test needs is missing: {why}", pytrace=False)
    pytest.skip(why)
