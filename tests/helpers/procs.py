# SPDX-License-Identifier: GPL-2.0-or-later
"""What /proc says of a process and the processes under it: status fields, children, the
whole tree, and its proportional set size (PSS: shared pages counted once, split between
the processes that share them), for the workers' memory and privilege tests and the
memory benchmark."""

from pathlib import Path


def status(pid):
    """/proc/PID/status as a dict of strings (Uid, CapEff, NoNewPrivs, ...)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def children(pid):
    kids = []
    try:
        for t in Path(f"/proc/{pid}/task").iterdir():
            try:
                kids += [int(c) for c in (t / "children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def tree(pid):
    """pid and every process under it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def pss_kb(pids):
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total
