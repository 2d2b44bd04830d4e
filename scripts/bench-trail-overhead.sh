#!/usr/bin/env bash
# Issue 11's overhead figure: cairn-bench req/s without a trail, then with an organization
# trail logging and an event stream posting every call to a local sink, in one run.
# Usage: scripts/bench-trail-overhead.sh [cairn-bench options, e.g. --duration 5]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p cairn -p cairn-bench --manifest-path "$root/Cargo.toml"
sink_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 - "$sink_port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
echo "== without a trail"
"$target/release/cairn-bench" --cairn "$target/release/cairn" --out "$target/bench/no-trail.json" "$@"
echo "== with an organization trail (delivery every 5 s) and an event stream"
CAIRN_EVENT_STREAM_URL="http://127.0.0.1:$sink_port/events" CAIRN_TRAIL_DELIVERY_SECONDS=5 \
  "$target/release/cairn-bench" --cairn "$target/release/cairn" --trail on --out "$target/bench/trail.json" "$@"
