#!/usr/bin/env bash
# Issue 11's overhead figure: cairn-bench req/s without a trail, then with an organization
# trail logging and an event stream posting every call to a local sink (`cairn-bench sink`),
# in one run.
# Usage: scripts/bench-trail-overhead.sh [cairn-bench options, e.g. --duration 5]
# CAIRN_EVENT_STREAM_BATCH_SIZE (default 1: one POST per event) sets the stream's batch size.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p cairn -p cairn-bench --manifest-path "$root/Cargo.toml"
mkdir -p "$target/bench"
"$target/release/cairn-bench" sink > "$target/bench/sink.port" &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$target/bench/sink.port" ] && break; sleep 0.1; done
sink_port="$(head -1 "$target/bench/sink.port")"
echo "== without a trail"
"$target/release/cairn-bench" --cairn "$target/release/cairn" --out "$target/bench/no-trail.json" "$@"
echo "== with an organization trail (delivery every 5 s) and an event stream (batch size ${CAIRN_EVENT_STREAM_BATCH_SIZE:-1})"
CAIRN_EVENT_STREAM_URL="http://127.0.0.1:$sink_port/events" CAIRN_TRAIL_DELIVERY_SECONDS=5 \
  "$target/release/cairn-bench" --cairn "$target/release/cairn" --trail on --out "$target/bench/trail.json" "$@"
