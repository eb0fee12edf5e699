#!/bin/sh
# run.sh: every benchmark, printing figures (never failing on time). See docs/performance.md.
#   bench/run.sh [PACKETS] [RUNS]
set -eu
cd "$(dirname "$0")/.."
python3 bench/file_vs_tshark.py --packets "${1:-200000}" --runs "${2:-3}"
