#!/usr/bin/env bash
# Side-by-side file-serving benchmark: the same MP3 served by Floe (release build, through its
# library route /api/v1/tracks/{id}/stream) and by Debian's nginx (sendfile on, tcp_nopush off,
# as many workers as Floe has worker threads), loaded by wrk on loopback, in one run. Prints
# requests per second for small Range requests (4 KiB at a fixed offset and at random offsets,
# keep-alive) and throughput for whole-file downloads, with floe/nginx ratios, plus the scan
# speed of `floe scan` on a generated library. See BENCHMARKS.md.
#
#   bench/files.sh             # 15 s per measurement
#   bench/files.sh --quick     # 5 s per measurement
#   bench/files.sh --help
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=15
CONNECTIONS=32
DOWNLOAD_CONNECTIONS=4
SCAN_FILES=400
ROUNDS=3
QUIET_BELOW=30
QUIET_MAX_WAIT=60
INSTALL=1
BUILD=1
FLOE_BIN="$ROOT/target/release/floe"
WORKERS="$(nproc)"
SENDFILE_MIN=65536

usage() {
  cat <<USAGE
usage: bench/files.sh [options]
  --quick            5 s per measurement, one round, 200 files to scan
  --duration S       seconds per measurement (default $DURATION)
  --connections N    keep-alive connections for the range runs (default $CONNECTIONS)
  --scan-files N     files in the generated library for the scan speed (default $SCAN_FILES)
  --rounds N         alternating nginx/Floe rounds, medians reported (default $ROUNDS)
  --quiet-below PCT  wait (at most $QUIET_MAX_WAIT s) for machine busy % below this first (default $QUIET_BELOW)
  --no-install       do not apt-get install nginx/wrk/ffmpeg when missing
  --no-build         use the release binary already built
  --floe PATH        Floe binary (default target/release/floe)
  --no-sendfile      Floe with [limits] sendfile_min_bytes = 0 (every body through hyper)
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) DURATION=5; SCAN_FILES=200; ROUNDS=1 ;;
    --duration) DURATION="$2"; shift ;;
    --connections) CONNECTIONS="$2"; shift ;;
    --scan-files) SCAN_FILES="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --quiet-below) QUIET_BELOW="$2"; shift ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --floe) FLOE_BIN="$2"; shift ;;
    --no-sendfile) SENDFILE_MIN=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

need() { command -v "$1" >/dev/null 2>&1; }
if [ "$INSTALL" = 1 ]; then
  missing=()
  need nginx || missing+=(nginx)
  need wrk || missing+=(wrk)
  need ffmpeg || missing+=(ffmpeg)
  need curl || missing+=(curl)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
for p in nginx wrk ffmpeg curl python3; do
  need "$p" || { echo "bench/files.sh needs $p" >&2; exit 1; }
done
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -q -p floe)
fi

WORK="$(mktemp -d /tmp/floe-files-bench.XXXXXX)"
chmod 755 "$WORK"
NGINX_PORT=18300
FLOE_PORT=18310
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the file: 5 minutes of MP3 at 128 kbit/s (about 4.8 MB) ---------------------------------
mkdir -p "$WORK/music"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=300" \
  -ac 2 -c:a libmp3lame -b:a 128k -metadata title=Bench -metadata artist=Floe \
  "$WORK/music/bench.mp3"
chmod -R a+rX "$WORK"
SIZE="$(stat -c %s "$WORK/music/bench.mp3")"

# --- nginx --------------------------------------------------------------------------------------
cat >"$WORK/nginx.conf" <<NGINX
worker_processes $WORKERS;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_requests 1000000;
  types { audio/mpeg mp3; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/music;
  }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK"

# --- Floe ---------------------------------------------------------------------------------------
cat >"$WORK/floe.toml" <<TOML
[server]
listen = "127.0.0.1:$FLOE_PORT"

[library]
path = "$WORK/music"
watch = false
database = "$WORK/library.db"

[limits]
sendfile_min_bytes = $SENDFILE_MIN

[logging]
access_log = ""
TOML
FLOE_LOG=warn "$FLOE_BIN" serve --config "$WORK/floe.toml" --source-password bench \
  --admin-password bench >"$WORK/floe.log" 2>&1 &
PIDS+=($!)
TRACK=""
for _ in $(seq 1 300); do
  TRACK="$(curl -s "http://127.0.0.1:$FLOE_PORT/api/v1/tracks" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])' 2>/dev/null || true)"
  [ -n "$TRACK" ] && break
  sleep 0.1
done
[ -n "$TRACK" ] || { echo "Floe did not list the track; log:" >&2; cat "$WORK/floe.log" >&2; exit 1; }
FLOE_URL="http://127.0.0.1:$FLOE_PORT/api/v1/tracks/$TRACK/stream"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/bench.mp3"

# Both must serve the same bytes for the same range before anything is measured.
for u in "$FLOE_URL" "$NGINX_URL"; do
  curl -s -H "Range: bytes=4096-8191" "$u" | cmp - <(tail -c +4097 "$WORK/music/bench.mp3" | head -c 4096) \
    || { echo "$u does not serve the file's bytes" >&2; exit 1; }
done

cat >"$WORK/random.lua" <<LUA
math.randomseed(7)
request = function()
  local off = math.random(0, $SIZE - 4096)
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. off .. "-" .. (off + 4095) })
end
LUA

# wrk's "Requests/sec" and "Transfer/sec" (in MB/s).
run_wrk() { # url connections [wrk args...]
  local url="$1" conns="$2"; shift 2
  wrk -t1 -c"$conns" -d"${DURATION}s" "$@" "$url" >"$WORK/wrk.out" 2>&1
  python3 - "$WORK/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", text)
scale = {"B": 1e-6, "KB": 1e-3 * 1.024, "MB": 1.048576, "GB": 1073.741824}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} {float(m.group(1)) * scale:.1f} {errors.group(1) if errors else 0}")
PY
}

busy() { # machine-wide busy % over one second
  python3 - <<'PY'
import time
def snap():
    v = list(map(int, open("/proc/stat").readline().split()[1:]))
    return sum(v), v[3] + v[4]
t0, i0 = snap(); time.sleep(1); t1, i1 = snap()
print(round(100 * (1 - (i1 - i0) / max(1, t1 - t0))))
PY
}

# Wait (a bounded time) for a quieter machine; other work skews absolute figures.
for _ in $(seq 1 "$QUIET_MAX_WAIT"); do
  [ "$(busy)" -lt "$QUIET_BELOW" ] && break
done
echo "machine busy before the runs: $(busy)%"
# Rounds alternate nginx and Floe so both see the same background load; medians are reported.
declare -A R
for round in $(seq 1 "$ROUNDS"); do
  for server in nginx floe; do
    url="$NGINX_URL"; [ "$server" = floe ] && url="$FLOE_URL"
    read -r fixed _ e1 < <(run_wrk "$url" "$CONNECTIONS" -H "Range: bytes=4096-8191")
    read -r random _ e2 < <(run_wrk "$url" "$CONNECTIONS" -s "$WORK/random.lua")
    read -r whole_rps whole_mbs e3 < <(run_wrk "$url" "$DOWNLOAD_CONNECTIONS")
    R[$server.fixed]+="$fixed,"; R[$server.random]+="$random,"
    R[$server.whole_rps]+="$whole_rps,"; R[$server.whole_mbs]+="$whole_mbs,"
    R[$server.err]+="$((e1 + e2 + e3)),"
  done
done

SENDFILE_RESPONSES="$(curl -s "http://127.0.0.1:$FLOE_PORT/api/v1/status" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["sendfile_responses"])')"

# --- scan speed ---------------------------------------------------------------------------------
mkdir -p "$WORK/lib"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=330:sample_rate=44100:duration=20" \
  -ac 2 -c:a libmp3lame -b:a 128k "$WORK/seed.mp3"
for i in $(seq 1 "$SCAN_FILES"); do
  d="$WORK/lib/artist$((i % 20))/album$((i % 50))"
  mkdir -p "$d"
  ffmpeg -nostdin -v error -i "$WORK/seed.mp3" -c copy -metadata title="Track $i" \
    -metadata artist="Artist $((i % 20))" -metadata album="Album $((i % 50))" \
    -metadata track="$i" "$d/$i.mp3"
done
start=$(date +%s.%N)
"$FLOE_BIN" scan "$WORK/lib" --database "$WORK/scan.db" --quiet >"$WORK/scan.log" 2>&1
end=$(date +%s.%N)
start2=$(date +%s.%N)
"$FLOE_BIN" scan "$WORK/lib" --database "$WORK/scan.db" --quiet >"$WORK/rescan.log" 2>&1
end2=$(date +%s.%N)

python3 - "$SIZE" "$SCAN_FILES" "$start" "$end" "$start2" "$end2" <<PY
import sys
size, files = int(sys.argv[1]), int(sys.argv[2])
scan = float(sys.argv[4]) - float(sys.argv[3])
rescan = float(sys.argv[6]) - float(sys.argv[5])
import statistics
r = {k: statistics.median(float(x) for x in v.strip(",").split(",")) for k, v in [
$(for k in "${!R[@]}"; do echo "    (\"$k\", \"${R[$k]}\"),"; done)
]}
errs = sum(sum(float(x) for x in v.strip(",").split(",")) for k, v in [
$(for k in "${!R[@]}"; do echo "    (\"$k\", \"${R[$k]}\"),"; done)
] if k.endswith(".err"))
print()
print(f"file: {size} bytes of MP3; wrk -t1, {$DURATION} s per run, medians of $ROUNDS alternating rounds; nginx and Floe with $WORKERS workers")
print(f"{'measurement':<44}{'nginx':>12}{'floe':>12}{'floe/nginx':>12}")
rows = [
    ("4 KiB range, fixed offset ($CONNECTIONS conns), req/s", "fixed"),
    ("4 KiB range, random offsets ($CONNECTIONS conns), req/s", "random"),
    ("whole file ($DOWNLOAD_CONNECTIONS conns), MB/s", "whole_mbs"),
    ("whole file ($DOWNLOAD_CONNECTIONS conns), downloads/s", "whole_rps"),
]
for label, key in rows:
    n, f = r[f"nginx.{key}"], r[f"floe.{key}"]
    print(f"{label:<44}{n:>12.1f}{f:>12.1f}{(f / n if n else 0):>11.2f}x")
print(f"non-2xx answers during the runs: {errs:.0f}")
print(f"floe responses sent with sendfile (sendfile_min_bytes = $SENDFILE_MIN): $SENDFILE_RESPONSES")
print(f"floe scan: {files} files in {scan:.2f} s = {files / scan:.0f} files/s; unchanged rescan {rescan:.2f} s = {files / rescan:.0f} files/s")
PY
