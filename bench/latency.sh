#!/usr/bin/env bash
# Glass-to-glass latency of the web player for LL-HLS and WebSocket (targets: under 2 s and
# under 300 ms on loopback): runs a release Floe on a free loopback port, ffmpeg sending a live
# AAC tone to it in real time, and Chromium playing it (bench/latency.mjs), then prints the
# figures the player reports.
#
#   bench/latency.sh [TRANSPORTS]      (default: hls,ws; any of hls,dash,plain,wav,ws,sse)
#
# Needs ffmpeg, chromium, node and `npm ci` in web-tests/ (as .ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
transports="${1:-hls,ws}"

# FLOE_BIN=path runs that binary instead of building the release one.
if [ -n "${FLOE_BIN:-}" ]; then
  bin="$FLOE_BIN"
else
  cargo build --release -p floe >&2
  bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/floe"
fi

dir="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
touch "$dir/floe.toml"
"$bin" serve --config "$dir/floe.toml" --listen "127.0.0.1:$port" \
  --source-password bench-pw --admin-password bench-admin >"$dir/floe.log" 2>&1 &
floe_pid=$!
ffmpeg_pid=""
cleanup() {
  [ -n "$ffmpeg_pid" ] && kill "$ffmpeg_pid" 2>/dev/null || true
  kill "$floe_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/status" >/dev/null && break
  sleep 0.1
done
ffmpeg -nostdin -v error -re -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=600" \
  -c:a aac -b:a 128k -content_type audio/aac -f adts \
  "icecast://source:bench-pw@127.0.0.1:$port/bench.aac" &
ffmpeg_pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null -I "http://127.0.0.1:$port/bench.aac" && break
  sleep 0.1
done
# Let the segmenter fill a few segments before the first player arrives.
sleep 6

echo "Floe $(git rev-parse --short HEAD), $bin, loopback, ffmpeg AAC 128k tone source, $(chromium --version 2>/dev/null | head -1)"
node bench/latency.mjs --base "http://127.0.0.1:$port" --mount /bench.aac --transports "$transports"
