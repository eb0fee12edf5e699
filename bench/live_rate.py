#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""live_rate: how fast can traffic come before espcap's live capture loses packets?

A generated capture (build/capgen bench N) is replayed with tcpreplay onto veth-b
in a network namespace made for the run; espcap captures on the other end
(veth-a, in a second namespace) at rising rates, for a few seconds each:

  stdout  espcap --nic=veth-a > /dev/null
  index   espcap --nic=veth-a --node=... into a local test node (tests/node),
          started inside the capture namespace

For every rate it prints the packets tcpreplay sent (and the rate it reached),
what espcap captured, the kernel's drops, the documents built (and, indexing,
indexed / spooled / dropped by the spool), then the highest rate without kernel
drops for each mode.  A mode stops rising at the first rate with drops, or when
tcpreplay cannot reach the rate asked for; if the lowest rate already drops, it
halves the rate until it does not (down to --min-rate).

Nothing leaves the two namespaces: the replayed packets exist only on the veth
pair.  Needs root, iproute2 (ip netns) and tcpreplay.  A benchmark: it prints
figures, it does not judge them.

  python3 bench/live_rate.py [--packets 100000] [--seconds 5] [--modes stdout,index]
                             [--rates 5000,10000,20000,40000,80000,160000] [--workers 1,2]

Each mode runs once per --workers value (espcap's dissection workers).
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "live"))
sys.path.insert(0, str(ROOT / "tests"))

import livenet as L  # noqa: E402

BUDGET_S = 285  # the whole run, roughly


def fail(msg):
    sys.exit(f"live_rate: {msg}")


def parse_kv(stderr, prefix):
    for line in reversed(stderr.splitlines()):
        if line.startswith(prefix):
            out = {}
            for tok in line[len(prefix):].split():
                k, sep, v = tok.partition("=")
                if sep:
                    out[k] = v
            return out
    return {}


def parse_tcpreplay(text):
    out = {"sent": 0, "seconds": 0.0, "pps": 0.0, "failed": 0}
    m = re.search(r"Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds", text)
    if m:
        out["sent"], out["seconds"] = int(m.group(1)), float(m.group(2))
    m = re.search(r"Rated: .*?([\d.]+) pps", text)
    if m:
        out["pps"] = float(m.group(1))
    m = re.search(r"Failed packets:\s+(\d+)", text)
    if m:
        out["failed"] = int(m.group(1))
    return out


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class Bench:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.token = f"b{os.getpid() % 100000}-{secrets.token_hex(2)}"
        self.work = Path(tempfile.mkdtemp(prefix="espcap-live-rate."))
        self.lab = None
        self.node_pid = None
        self.node_url = None
        self.nudger = None
        self.workers = 1

    def left(self):
        return BUDGET_S * len(self.args.workers) - (time.monotonic() - self.t0)

    # ---- set-up ----------------------------------------------------------------
    def capture(self):
        if self.args.capture:
            return Path(self.args.capture)
        cache = Path(tempfile.gettempdir()) / "espcap-bench"
        cache.mkdir(exist_ok=True)
        path = cache / f"live-{self.args.packets}.pcap"
        if not path.exists():
            capgen = ROOT / "build" / "capgen"
            if not capgen.exists():
                fail(f"{capgen} not built (make)")
            tmp = path.with_suffix(".tmp")
            subprocess.run([str(capgen), "bench", str(self.args.packets), str(tmp)], check=True,
                           stdout=subprocess.DEVNULL, timeout=600)
            tmp.rename(path)
        return path

    def setup(self):
        why = L.live_problem()
        if why:
            fail(why)
        if shutil.which("tcpreplay") is None:
            fail("tcpreplay is not installed")
        self.lab = L.Lab(self.token, subnet=1 + secrets.randbelow(254)).setup()
        self.nudger = L.UdpSender(self.lab.ns_b, self.lab.addr_a, 9)

    def start_node(self):
        pidfile = self.work / "node.pid"
        cmd = ["ip", "netns", "exec", self.lab.ns_a, str(ROOT / "tests" / "node" / "start-node.sh"),
               str(pidfile)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        lines = p.stdout.strip().splitlines()
        if p.returncode != 0 or not lines or not lines[-1].startswith("http://"):
            print(f"  (the test node did not start: {p.stderr.strip()[-600:]})")
            return False
        self.node_pid = pidfile
        self.node_url = lines[-1]
        return True

    def teardown(self):
        if self.node_pid is not None:
            subprocess.run([str(ROOT / "tests" / "node" / "stop-node.sh"), str(self.node_pid)],
                           capture_output=True, timeout=120)
        if self.nudger is not None:
            self.nudger.close()
        if self.lab is not None:
            self.lab.teardown()
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- one step --------------------------------------------------------------
    def step(self, mode, rate, capture, seconds=None):
        seconds = seconds or self.args.seconds
        expected = rate * seconds
        args = [f"--nic={self.lab.IF_A}", f"--count={expected}", f"--workers={self.workers}"]
        if mode == "index":
            hostport = self.node_url.split("://", 1)[1]
            # one index for every rate: its mappings exist after the warm-up
            args += [f"--node={hostport}", "--index-prefix=live-rate",
                     f"--spool-dir={self.work / f'spool-{rate}'}",
                     f"--rejected={self.work / f'rejected-{rate}.ndjson'}"]
        err_path = self.work / f"{mode}-{rate}.stderr"
        with open(err_path, "wb") as err, open(os.devnull, "wb") as devnull:
            proc = subprocess.Popen(["ip", "netns", "exec", self.lab.ns_a, str(self.args.espcap)]
                                    + args, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                    stdout=devnull, stderr=err)
        self.lab.procs.append(proc)
        try:
            deadline = time.monotonic() + 120
            while b"capturing on" not in err_path.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    return {"error": f"espcap did not start: {err_path.read_text()[-500:]}"}
                time.sleep(0.05)
            cmd = ["ip", "netns", "exec", self.lab.ns_b, "tcpreplay", f"--intf1={self.lab.IF_B}",
                   f"--pps={rate}", f"--limit={expected}", "--loop=0", "--preload-pcap"]
            if rate >= 20000:
                cmd.append(f"--pps-multi={max(2, rate // 10000)}")
            tr = subprocess.run(cmd + [str(capture)], capture_output=True, text=True,
                                timeout=seconds * 4 + 60)
            replay = parse_tcpreplay(tr.stdout + tr.stderr)
            if tr.returncode != 0 and not replay["sent"]:
                return {"error": f"tcpreplay failed: {(tr.stderr or tr.stdout)[-400:]}"}
            nudges, killed = self.wait_end(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        text = err_path.read_text(errors="replace")
        cap = parse_kv(text, "espcap: capture: ")
        summ = parse_kv(text, "espcap: summary: ")
        captured, docs = int(cap.get("captured", 0)), int(summ.get("documents", 0))
        if nudges:
            # a wake-up datagram may be among the packets (never more than sent + wake-ups)
            extra = min(nudges, max(0, captured - replay["sent"]))
            captured, docs = captured - extra, docs - extra
        row = {"rate": rate, "replay": replay, "rc": proc.returncode, "killed": killed,
               "nudges": nudges, "captured": captured, "docs": docs,
               "kdrop": int(cap.get("dropped_kernel", 0)) + int(cap.get("dropped_interface", 0)),
               "indexed": int(summ.get("indexed", 0)) + int(summ.get("already_present", 0)),
               "spooled": int(summ.get("spooled", 0)) - int(summ.get("replayed", 0)),
               "sdrop": int(summ.get("dropped", 0)), "elapsed": summ.get("elapsed", "?")}
        if not cap:
            row["error"] = f"no capture line: {text[-400:]}"
        return row

    def wait_end(self, proc):
        """Wait for espcap to end by itself (--count reached, everything delivered).

        If it sits idle (no CPU for 1.5 s) while still running, some packets never came
        (drops): SIGINT it, and send it a wake-up datagram now and then, because a
        live capture on an idle interface does not notice the signal until a packet
        arrives.  Returns (wake-up datagrams sent, killed)."""
        nudges = 0
        signalled_at = None
        last, still = cpu_ticks(proc.pid), 0.0
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            now = cpu_ticks(proc.pid)
            still = still + 0.25 if now == last else 0.0
            last = now
            if signalled_at is None and still >= 1.5:
                proc.send_signal(signal.SIGINT)
                signalled_at = time.monotonic()
            elif signalled_at is not None and still >= 1.0 and nudges < 10 and \
                    time.monotonic() - signalled_at > 0.5 * (nudges + 1):
                self.nudger.send(b"espcap live_rate wake-up", record=False)
                nudges += 1
        killed = False
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the second one ends it at once
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            killed = True
        return nudges, killed

    # ---- a mode ------------------------------------------------------------------
    def mode(self, mode, capture):
        what = " > /dev/null" if mode == "stdout" else " --node=(a test node in that namespace)"
        print(f"\n== {mode}: espcap --nic={self.lab.IF_A} --workers={self.workers}{what}, "
              f"{self.args.seconds} s of "
              f"tcpreplay per rate")
        hdr = (f"{'asked pps':>10} {'sent':>9} {'reached pps':>11} {'captured':>9} "
               f"{'kernel drops':>12} {'documents':>9}")
        if mode == "index":
            hdr += f" {'indexed':>9} {'in spool':>8} {'spool drops':>11}"
        print(hdr)
        if mode == "index":
            # create the day's index and its mappings first, so that every rate
            # measures steady indexing rather than the first mapping updates
            row = self.step(mode, 1000, capture, seconds=3)
            row["label"] = "warm-up"
            self.print_row(mode, row)
        rows = []
        rates = list(self.args.rates)
        idx, rate, descending = 0, rates[0], False
        while rate:
            if self.left() < self.args.seconds * 3 + 20:
                print(f"{rate:>10} (skipped: the run's time budget is spent)")
                break
            row = self.step(mode, rate, capture)
            rows.append(row)
            self.print_row(mode, row)
            if "error" in row:
                break
            drops = row["kdrop"] > 0 or row["captured"] < row["replay"]["sent"]
            if drops:
                clean_yet = any("error" not in r and r["kdrop"] == 0 for r in rows)
                if not clean_yet and rate // 2 >= self.args.min_rate:
                    rate, descending = rate // 2, True  # even this rate drops: go down
                    continue
                break
            if descending:
                break
            if row["replay"]["pps"] < 0.85 * rate:
                print(f"{'':>10} (tcpreplay reached only {row['replay']['pps']:.0f} pps: "
                      f"its ceiling here)")
                break
            idx += 1
            rate = rates[idx] if idx < len(rates) else None
        clean = [r for r in rows if "error" not in r and r["kdrop"] == 0
                 and r["captured"] >= r["replay"]["sent"] and not r["killed"]]
        best = max(clean, key=lambda r: r["replay"]["pps"], default=None)
        return best

    def print_row(self, mode, row):
        if "error" in row:
            print(f"{row.get('rate', '?'):>10} error: {row['error']}")
            return
        rp = row["replay"]
        label = row.get("label", row["rate"])
        line = (f"{label:>10} {rp['sent']:>9} {rp['pps']:>11.0f} {row['captured']:>9} "
                f"{row['kdrop']:>12} {row['docs']:>9}")
        if mode == "index":
            line += f" {row['indexed']:>9} {row['spooled']:>8} {row['sdrop']:>11}"
        notes = []
        if rp["failed"]:
            notes.append(f"{rp['failed']} not sent by tcpreplay")
        if row["nudges"]:
            notes.append("ended by SIGINT + wake-up packets, not counted")
        if row["killed"]:
            notes.append("did not end in time: killed")
        if row["rc"] not in (0, None) and not row["killed"]:
            notes.append(f"exit {row['rc']}")
        if notes:
            line += "   (" + "; ".join(notes) + ")"
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=100000,
                    help="packets in the generated capture (replayed in a loop)")
    ap.add_argument("--capture", help="replay this capture instead of a generated one")
    ap.add_argument("--seconds", type=int, default=5, help="seconds of traffic per rate")
    ap.add_argument("--rates", default="5000,10000,20000,40000,80000,160000",
                    help="packets/s to try, rising")
    ap.add_argument("--min-rate", type=int, default=500)
    ap.add_argument("--modes", default="stdout,index")
    ap.add_argument("--espcap", default=os.environ.get("ESPCAP_BIN", str(ROOT / "espcap")))
    ap.add_argument("--workers", default="1,2", help="espcap --workers values to try")
    args = ap.parse_args()
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.rates = sorted(int(r) for r in args.rates.split(",") if r.strip())
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not Path(args.espcap).exists():
        fail(f"{args.espcap} not found (make espcap)")

    b = Bench(args)
    results = {}
    try:
        capture = b.capture()
        b.setup()
        print(f"live_rate: {capture.name} ({capture.stat().st_size // 1000} kB) replayed by "
              f"tcpreplay on {b.lab.IF_B} ({b.lab.ns_b}) -> espcap on {b.lab.IF_A} "
              f"({b.lab.ns_a}); {os.cpu_count()} CPUs")
        for mode in modes:
            if mode == "index" and b.node_url is None:
                print("\n(starting a test node in the capture namespace...)", flush=True)
                if not b.start_node():
                    for w in args.workers:
                        results[(mode, w)] = None
                    continue
            elif mode not in ("stdout", "index"):
                print(f"unknown mode {mode}")
                continue
            for w in args.workers:
                b.workers = w
                results[(mode, w)] = b.mode(mode, capture)
    except KeyboardInterrupt:
        print("\ninterrupted")
    finally:
        b.teardown()
    print("\n== highest rate without kernel drops")
    for mode in modes:
        for w in args.workers:
            best = results.get((mode, w))
            what = f"{mode:>6}, --workers={w}"
            if best is None:
                print(f"  {what}: none of the rates tried")
            else:
                print(f"  {what}: {best['replay']['pps']:.0f} packets/s "
                      f"(asked {best['rate']}, {best['replay']['sent']} packets, all captured)")
    print(f"(elapsed {time.monotonic() - b.t0:.0f} s)")


if __name__ == "__main__":
    main()
