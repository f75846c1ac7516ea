#!/usr/bin/env bash
# Side-by-side fan-out benchmark: Icecast 2.4 (Debian) and Floe, one after the other, on
# loopback, same ffmpeg source, same load from floe-load. See BENCHMARKS.md.
#
#   bench/fanout.sh            # full run (about 10-15 minutes)
#   bench/fanout.sh --quick    # 1,000 listeners, 10 s windows, no 19,000 run (about 2 minutes)
#   bench/fanout.sh --help
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LISTENERS=10000
RATE=500
HOLD=30
STORM=3000
STORM_WITHIN=2
BIG=19000
ICY=1
SERVERS="icecast,floe"
QUIET_BELOW=10
QUIET_MAX_WAIT=90
INSTALL=1
BUILD=1
LOAD_THREADS=1
OUT=""

usage() {
  cat <<USAGE
usage: bench/fanout.sh [options]
  --quick              1,000 listeners, 10 s windows, storm 1,000, no big run
  --listeners N        listeners of the main scenario (default $LISTENERS)
  --rate R             connections per second during ramps (default $RATE)
  --hold S             seconds of the measured window (default $HOLD)
  --storm N            connections opened at once in the storm scenario, 0 to skip (default $STORM)
  --storm-within S     storm deadline for the first audio byte (default $STORM_WITHIN)
  --big N              listeners of the large scenario, 0 to skip (default $BIG)
  --no-icy             skip the ICY metadata scenario
  --servers LIST       icecast,floe (default), or one of them
  --quiet-below PCT    wait for machine busy % below this before each run (default $QUIET_BELOW)
  --quiet-max-wait S   longest wait for a quiet machine; the run then goes on, marked (default $QUIET_MAX_WAIT)
  --load-threads N     worker threads of floe-load (default $LOAD_THREADS)
  --out DIR            results folder (default bench/out/DATE-TIME)
  --no-install         do not apt-get install icecast2/ffmpeg when missing
  --no-build           use the release binaries already built
  --floe PATH          Floe binary to run (default target/release/floe)
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) LISTENERS=1000; HOLD=10; STORM=1000; BIG=0 ;;
    --listeners) LISTENERS="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    --hold) HOLD="$2"; shift ;;
    --storm) STORM="$2"; shift ;;
    --storm-within) STORM_WITHIN="$2"; shift ;;
    --big) BIG="$2"; shift ;;
    --no-icy) ICY=0 ;;
    --servers) SERVERS="$2"; shift ;;
    --quiet-below) QUIET_BELOW="$2"; shift ;;
    --quiet-max-wait) QUIET_MAX_WAIT="$2"; shift ;;
    --load-threads) LOAD_THREADS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --floe) FLOE_BIN="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

OUT="${OUT:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/floe-bench.XXXXXX)"
chmod 755 "$WORK"
PW="benchpw"
MOUNT="/bench.mp3"
ICECAST_PORT=18000
FLOE_PORT=18100
LOAD="$ROOT/target/release/floe-load"
FLOE="${FLOE_BIN:-$ROOT/target/release/floe}"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Every process this script starts is remembered and stopped by its id, also on ^C or error.
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # pid: SIGTERM, up to 10 s, then SIGKILL
  local p="$1" i
  kill "$p" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# ---- prerequisites ----
need_pkgs=()
command -v icecast2 >/dev/null || need_pkgs+=(icecast2)
command -v ffmpeg >/dev/null || need_pkgs+=(ffmpeg)
command -v curl >/dev/null || need_pkgs+=(curl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$INSTALL" = 1 ]; then
    log "installing ${need_pkgs[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq
    timeout 900 apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "missing: ${need_pkgs[*]} (run without --no-install, as root)" >&2
    exit 2
  fi
fi

if [ "$BUILD" = 1 ]; then
  log "building floe-load (release)"
  (cd "$ROOT" && cargo build --release -q -p floe-load)
  if [[ ",$SERVERS," == *",floe,"* ]]; then
    log "building floe (release)"
    (cd "$ROOT" && cargo build --release -q -p floe) || log "floe did not build"
  fi
fi
[ -x "$LOAD" ] || { echo "no $LOAD" >&2; exit 2; }
if [[ ",$SERVERS," == *",floe,"* ]] && ! "$FLOE" serve --help >/dev/null 2>&1; then
  log "no usable $FLOE (serve): running Icecast only"
  SERVERS="icecast"
fi

# ---- the source: 60 s of a music-like signal (chords, a beat, some noise), 128 kbps CBR MP3 ----
SRC="$WORK/source.mp3"
log "generating the test source"
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i \
  "aevalsrc=(0.25*sin(2*PI*220*t)+0.2*sin(2*PI*277.2*t)+0.2*sin(2*PI*329.6*t))*(0.6+0.4*sin(2*PI*2*t))+0.08*(random(0)-0.5)|(0.25*sin(2*PI*220*t)+0.2*sin(2*PI*277.2*t)+0.2*sin(2*PI*440*t))*(0.6+0.4*sin(2*PI*2*t+1))+0.08*(random(1)-0.5):s=44100:d=60" \
  -c:a libmp3lame -b:a 128k -id3v2_version 0 -write_xing 0 -f mp3 "$SRC"

# ---- servers ----
icecast_config() {
  local dir="$WORK/icecast"
  mkdir -p "$dir/log"
  chown -R icecast2:icecast "$dir"
  cat > "$dir/icecast.xml" <<XML
<icecast>
  <location>bench</location>
  <admin>bench@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits>
    <clients>30000</clients>
    <sources>4</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>$PW</source-password>
    <relay-password>$PW</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>$PW</admin-password>
  </authentication>
  <listen-socket>
    <port>$ICECAST_PORT</port>
    <bind-address>127.0.0.1</bind-address>
  </listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>$dir/log</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <alias source="/" destination="/status.xsl"/>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
    <logsize>100000</logsize>
  </logging>
  <security>
    <chroot>0</chroot>
    <changeowner>
      <user>icecast2</user>
      <group>icecast</group>
    </changeowner>
  </security>
</icecast>
XML
  echo "$dir/icecast.xml"
}

SERVER_PID=""
SOURCE_PID=""
TITLES_PID=""

start_server() { # name -> sets SERVER_PID, PORT
  local name="$1"
  case "$name" in
    icecast)
      PORT=$ICECAST_PORT
      local conf; conf="$(icecast_config)"
      ( ulimit -n 20000 2>/dev/null || true; exec icecast2 -c "$conf" ) >"$OUT/$name-server.log" 2>&1 &
      ;;
    floe)
      PORT=$FLOE_PORT
      # Defaults, except: no demo station (it would encode music inside the measured process)
      # and log level warn, like Icecast's config above.
      cat > "$WORK/floe.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[logging]
level = "warn"
[demo]
enabled = false
TOML
      ( ulimit -n 20000 2>/dev/null || true
        exec "$FLOE" serve -c "$WORK/floe.toml" \
          --source-password "$PW" --admin-password "$PW" ) >"$OUT/$name-server.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { log "$name exited at start:"; tail -5 "$OUT/$name-server.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name did not answer on port $PORT"; return 1
}

start_source() {
  ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$SRC" -c copy \
    -content_type audio/mpeg -ice_name "Bench" -ice_description "floe fan-out bench" \
    -f mp3 "icecast://source:$PW@127.0.0.1:$PORT$MOUNT" >"$OUT/source-$PORT.log" 2>&1 &
  SOURCE_PID=$!
  PIDS+=("$SOURCE_PID")
  local i n
  for i in $(seq 1 50); do
    n=$(curl -s --max-time 1 "http://127.0.0.1:$PORT$MOUNT" 2>/dev/null | head -c 20000 | wc -c || true)
    [ "${n:-0}" -ge 4000 ] && return 0
    sleep 0.2
  done
  log "the mount never went live"; return 1
}

start_titles() { # a new title every 10 s through the Icecast admin API (both servers speak it)
  ( for i in $(seq 1 200); do
      curl -s -o /dev/null --max-time 2 -u "admin:$PW" \
        "http://127.0.0.1:$PORT/admin/metadata?mount=$MOUNT&mode=updinfo&song=Bench%20Artist%20-%20Title%20$i" || true
      sleep 10
    done ) &
  TITLES_PID=$!
  PIDS+=("$TITLES_PID")
}

stop_all() {
  [ -n "$TITLES_PID" ] && { kill "$TITLES_PID" 2>/dev/null || true; wait "$TITLES_PID" 2>/dev/null || true; }
  [ -n "$SOURCE_PID" ] && stop_pid "$SOURCE_PID"
  [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
  TITLES_PID=""; SOURCE_PID=""; SERVER_PID=""
}

# run_one SERVER SCENARIO [floe-load run options...]
run_one() {
  local name="$1" scenario="$2"; shift 2
  log "== $scenario on $name =="
  if ! start_server "$name"; then stop_all; return 0; fi
  if ! start_source; then stop_all; return 0; fi
  if [ "$scenario" = "2-icy" ]; then start_titles; fi
  ( ulimit -n 20000 2>/dev/null || true
    exec timeout 900 "$LOAD" run "http://127.0.0.1:$PORT$MOUNT" \
      --server-pid "$SERVER_PID" --label "$name" --scenario "$scenario" \
      --bitrate-kbps 128 --threads "$LOAD_THREADS" \
      --wait-quiet "$QUIET_BELOW" --quiet-max-wait "$QUIET_MAX_WAIT" --progress 5 \
      --out "$OUT/$scenario-$name.json" "$@" ) 2>&1 | tee -a "$OUT/$name-load.log" >&2 || true
  stop_all
  sleep 2
}

IFS=',' read -r -a SERVER_LIST <<< "$SERVERS"
scenario() { # name args...: each server in turn, never at the same time
  local s="$1"; shift
  local srv
  for srv in "${SERVER_LIST[@]}"; do run_one "$srv" "$s" "$@"; done
}

log "results in $OUT"
scenario 1-listeners -n "$LISTENERS" --rate "$RATE" --hold "$HOLD"
[ "$ICY" = 1 ] && scenario 2-icy -n "$LISTENERS" --rate "$RATE" --hold "$HOLD" --icy
[ "$STORM" -gt 0 ] && scenario 3-storm --storm "$STORM" --storm-within "$STORM_WITHIN"
[ "$BIG" -gt 0 ] && scenario 4-max -n "$BIG" --rate "$RATE" --hold "$HOLD"

"$LOAD" table "$OUT" --labels "$SERVERS" | tee "$OUT/table.txt"
log "table saved to $OUT/table.txt"
