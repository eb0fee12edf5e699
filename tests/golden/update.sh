#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerate the expected outputs of the golden cases in tests/golden/TESTLIST.
# Usage: tests/golden/update.sh [NAME...]   (no NAME: every case)
# Needs ./espcap (or $ESPCAP_BIN) and build/capgen: run `make` first.
# Review the change (git diff tests/golden) before committing it.
set -e
cd "$(dirname "$0")/../.."
exec python3 tests/helpers/golden.py update "$@"
