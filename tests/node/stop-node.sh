#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Stop a test node started by tests/node/start-node.sh.
#
#   tests/node/stop-node.sh PIDFILE [TIMEOUT_SECONDS]
#
# Sends SIGTERM (the node closes cleanly and deletes its work folder), waits up
# to TIMEOUT_SECONDS (default 30), then SIGKILL.  Removes PIDFILE and the
# start script's temporary folder.  Exits 0 if the node is (already) gone.
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: $0 PIDFILE [TIMEOUT_SECONDS]" >&2; exit 2; }
pidfile=$1
timeout_s=${2:-30}

if [ ! -f "$pidfile" ]; then
    echo "stop-node: no pid file $pidfile (node not running?)" >&2
    exit 0
fi
pid=$(tr -dc 0-9 <"$pidfile")
if [ -z "$pid" ]; then
    echo "stop-node: empty pid file $pidfile" >&2
    rm -f "$pidfile"
    exit 0
fi

# only touch the process if it really is our launcher (guards against PID reuse)
base=
if [ -r "/proc/$pid/cmdline" ]; then
    cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline")
    # (here-strings, not pipes: with pipefail an early-exiting grep/sed fails the pipe)
    if ! grep -q 'espcap-testnode' <<<"$cmdline"; then
        echo "stop-node: process $pid is not an espcap test node; leaving it alone" >&2
        rm -f "$pidfile"
        exit 0
    fi
    work=$(sed -n '/^--work-dir$/{n;p;q}' <<<"$cmdline")
    if [ -n "$work" ]; then
        base=$(dirname "$work")
        case $(basename "$base") in espcap-node.*) ;; *) base= ;; esac
    fi
elif ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pidfile"
    exit 0
fi

kill -TERM "$pid" 2>/dev/null
deadline=$((SECONDS + timeout_s))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
    echo "stop-node: node $pid still running after ${timeout_s} s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
rm -f "$pidfile"
[ -n "$base" ] && rm -rf "$base"
exit 0
