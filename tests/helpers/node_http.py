# SPDX-License-Identifier: GPL-2.0-or-later
"""A stdlib-only HTTP request to a test node, shared by tests/es and tests/live."""

import json
import urllib.error
import urllib.request


def request(base_url, method, path, body=None, timeout=60, ok=(200, 201)):
    """(status, parsed JSON or text or None). Raises AssertionError unless status in ok
    (ok=None accepts any status; connection errors always raise)."""
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        obj = json.loads(raw) if raw else None
    except ValueError:
        obj = raw.decode("utf-8", "replace")
    if ok is not None and status not in ok:
        raise AssertionError(f"{method} {base_url}{path} -> HTTP {status}: {str(obj)[:1500]}")
    return status, obj
