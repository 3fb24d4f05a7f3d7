#!/usr/bin/env bash
# demo.sh CLUSTER: start every node of CLUSTER in the background, open the
# dashboard, and stop the nodes this script started when the dashboard exits.
set -euo pipefail
cluster=${1:-examples/demo/cluster.yaml}
bin=$(cd "$(dirname "$0")/.." && pwd)/bin
logdir=$(dirname "$cluster")/data
mkdir -p "$logdir"

pids=()
stop_nodes() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_nodes EXIT

ids=$(sed -n 's/.*id: *\([^,} ]*\).*/\1/p' "$cluster")
for id in $ids; do
	"$bin/easykv-node" --cluster "$cluster" --id "$id" 2>>"$logdir/$id.log" &
	pids+=($!)
done
echo "started nodes $(echo $ids) (logs in $logdir/); opening the dashboard"
"$bin/easykv-tui" --cluster "$cluster"
