# SPDX-License-Identifier: GPL-2.0-or-later
"""espcap --dir=D --watch as a background process (tests/test_watch.py, tests/es)."""

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path


class Watch:
    """espcap --dir=D --watch running, stdout and stderr to files."""

    def __init__(self, binary, d, state, *args, cwd, name="watch", prefix=(), env=None):
        self.out = Path(cwd) / f"{name}.ndjson"
        self.err = Path(cwd) / f"{name}.stderr"
        self.cmd = list(prefix) + [str(binary), f"--dir={d}", "--watch",
                                   f"--state-file={state}", *map(str, args)]
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = subprocess.Popen(self.cmd, cwd=str(cwd), stdin=subprocess.DEVNULL,
                                      stdout=o, stderr=e,
                                      env=dict(os.environ, **env) if env else None)

    def docs(self):
        data = self.out.read_bytes()
        return [json.loads(l) for l in data.split(b"\n")[:-1]]

    def counts(self):
        return Counter(d["file_name"] for d in self.docs())

    def wait(self, pred, timeout=60, what="a condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            if self.p.poll() is not None:
                raise AssertionError(f"espcap ended ({self.p.returncode}) waiting for {what}:\n"
                                     f"{self.err.read_text()[-2000:]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {self.counts()}\n"
                             f"{self.err.read_text()[-2000:]}")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.p.send_signal(sig)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError(f"espcap did not end on {sig!r}:\n{self.err.read_text()}")
        return self.p.returncode

    def stderr(self):
        return self.err.read_text()


def write_slowly(path, data, pieces=5, pause=1.0):
    """Writes DATA to PATH in pieces, PAUSE seconds apart, keeping the file open."""
    with open(path, "wb") as f:
        step = len(data) // pieces + 1
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            time.sleep(pause)
