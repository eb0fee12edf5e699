#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Stop the nodes of a cluster started by tests/node/start-cluster.sh.
#
#   tests/node/stop-cluster.sh DIR [TIMEOUT_SECONDS]
#
# Stops every node of DIR at once with stop-node.sh (SIGTERM, then SIGKILL after
# TIMEOUT_SECONDS, default 30).  Leaves DIR itself, with the data folders, so that
# start-cluster.sh DIR starts the same cluster again; remove it when done.
# Exits 0 once no node of DIR runs.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ $# -ge 1 ] || { echo "usage: $0 DIR [TIMEOUT_SECONDS]" >&2; exit 2; }
dir=$1
timeout_s=${2:-30}
[ -d "$dir" ] || { echo "stop-cluster: no folder $dir" >&2; exit 0; }

stoppers=()
for pidfile in "$dir"/node-*.pid; do
    [ -e "$pidfile" ] || continue
    "$here/stop-node.sh" "$pidfile" "$timeout_s" &
    stoppers+=($!)
done
for p in "${stoppers[@]}"; do wait "$p"; done
exit 0
