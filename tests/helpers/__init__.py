# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for espcap's Python tests and tests/golden/update.sh."""
