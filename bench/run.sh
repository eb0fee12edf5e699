#!/bin/sh
# run.sh: every benchmark, printing figures (never failing on time). See docs/performance.md.
#   bench/run.sh [PACKETS] [RUNS]
set -eu
cd "$(dirname "$0")/.."
echo "== file mode: espcap vs tshark -T ek, to /dev/null"
python3 bench/file_vs_tshark.py --packets "${1:-200000}" --runs "${2:-3}"
python3 bench/file_vs_tshark.py --http 100 --runs "${2:-3}"
echo "== indexing into a local OpenSearch node: espcap vs tshark -T ek + curl _bulk"
python3 bench/index_vs_tshark.py --packets "${1:-200000}"
echo "== indexing with and without TLS, with and without --compress (nginx in front of the node)"
python3 bench/index_tls.py --packets 20000 --runs "${2:-3}"
echo "== indexing into one OpenSearch 3 node vs a three-node cluster"
python3 bench/cluster_rate.py --runs "${2:-3}"
if [ -f bench/live_rate.py ] && [ "$(id -u)" -eq 0 ]; then
    echo "== live capture: highest rate without kernel drops (tcpreplay on a veth pair)"
    python3 bench/live_rate.py
fi
echo "== --dir over many small captures: peak memory of all processes"
[ -d ../shared/pcaps/corpus ] && python3 bench/dir_memory.py
