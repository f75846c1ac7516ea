// Floe's web player: stations and mounts from /api/v1/mounts, kept current by /api/v1/events,
// played through the transport the listener picks (or the best one the browser has).
//
// Transports and how each is played:
//   hls   hls.js over Media Source Extensions (low-latency mode), from the mount's `hls_url`
//   dash  dash.js over MSE, from `dash_url`
//   plain the mount's own stream in <audio> (`stream_url`)
//   wav   the endless WAV in <audio> (`wav_url`)
//   ws    PCM over WebSocket (`ws_url`), scheduled with Web Audio
//   sse   PCM over Server-Sent Events (`sse_url`), scheduled with Web Audio
//   ws-opus, sse-opus  the same with Opus packets (`?codec=opus`), decoded by WebCodecs
// "auto" picks hls.js when the mount has HLS and the browser's MSE takes its codec, else native
// HLS (Safari on iOS, which has no MSE), else the plain stream. hls.js comes first even where the browser
// plays HLS natively (Chromium does): it is the tested path, and it reports the program date
// time of the playing position, which the latency figure needs.
//
// For tests: window.floePlayer = { transport, mount, errors, currentTime(), latency(),
// frequency(), play(path, transport), stop() }.
"use strict";

const stationsEl = document.getElementById("stations");
const empty = document.getElementById("empty");
const stationTemplate = document.getElementById("station-template");
const mountTemplate = document.getElementById("mount-template");
const audio = document.getElementById("audio");
const volume = document.getElementById("volume");
const transportSelect = document.getElementById("transport");
const playing = document.getElementById("playing");
const playingDetail = document.getElementById("playing-detail");
const latencyOut = document.getElementById("latency");
const stopButton = document.getElementById("stop");
const connection = document.getElementById("connection");

const TRANSPORT_NAMES = {
  hls: "HLS",
  dash: "DASH",
  plain: "plain stream",
  wav: "WAV",
  ws: "WebSocket",
  sse: "Server-Sent Events",
  "ws-opus": "WebSocket (Opus)",
  "sse-opus": "Server-Sent Events (Opus)",
};
// Audio a PCM transport asks the server for on connect, and how far ahead of the audio clock
// it schedules: small for low latency, enough to ride over a late packet. Sources that arrive
// in bursts (an Ogg stream's pages hold up to a second of audio) widen both: the scheduler
// tracks the longest recent wait between arrivals. A chunk that would start further ahead
// than that allows (a burst larger than wanted, a backlog after the tab was throttled) is
// dropped, so the player stays close to live instead of drifting behind.
const PCM_BURST_MS = 100;
const PCM_LEAD_S = 0.08;
const PCM_MAX_AHEAD_S = 0.18;
// Per arrival, the remembered longest wait shrinks by this factor (about 3 s half-life at
// 50 chunks a second).
const PCM_GAP_DECAY = 0.995;

// path -> { data, element }
const mounts = new Map();

const player = {
  transport: null, // the transport actually playing
  mount: null, // its path
  errors: [],
  session: null, // the running transport's object, with stop(), currentTime(), latency()
  currentTime() {
    return this.session ? this.session.currentTime() : 0;
  },
  latency() {
    return this.session ? this.session.latency() : null;
  },
  frequency() {
    return dominantFrequency();
  },
  play(path, transport) {
    if (transport) transportSelect.value = transport;
    return start(path);
  },
  stop() {
    stop();
  },
};
window.floePlayer = player;

function text(el, value) {
  el.textContent = value == null ? "" : String(value);
}

function fail(message) {
  player.errors.push(message);
  text(playingDetail, message);
  playingDetail.classList.add("error");
}

// ---------------------------------------------------------------------------------------------
// Web Audio: one context for everything, so the volume and the analyser cover every transport.

let ctx = null;
let gain = null;
let analyser = null;
let elementSource = null;

function audioContext() {
  if (!ctx) {
    ctx = new AudioContext({ latencyHint: "interactive" });
    gain = ctx.createGain();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0; // each reading is the audio now (tests sample once a second)
    gain.connect(analyser);
    analyser.connect(ctx.destination);
    gain.gain.value = Number(volume.value);
  }
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  return ctx;
}

function routeElement() {
  audioContext();
  if (!elementSource) {
    elementSource = ctx.createMediaElementSource(audio);
    elementSource.connect(gain);
  }
}

// The strongest frequency the analyser sees now, in Hz (null when silent or not playing).
function dominantFrequency() {
  if (!analyser) return null;
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  if (!isFinite(bins[best]) || bins[best] < -90) return null;
  return (best * ctx.sampleRate) / analyser.fftSize;
}

// ---------------------------------------------------------------------------------------------
// Transports on the <audio> element.

function elementTransport(kind, url, setup) {
  routeElement();
  const session = {
    kind,
    teardown: null,
    latencyFn: () => bufferedAhead(),
    currentTime: () => audio.currentTime,
    latency() {
      return session.latencyFn();
    },
    stop() {
      if (session.teardown) session.teardown();
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
    },
  };
  // A setup that starts playback itself returns true.
  const playsItself = setup ? setup(session, url) : ((audio.src = url), false);
  if (!playsItself) audio.play().catch((err) => fail("cannot play: " + err.message));
  return session;
}

function bufferedAhead() {
  const b = audio.buffered;
  if (!b.length) return null;
  return Math.max(0, b.end(b.length - 1) - audio.currentTime);
}

function setupHls(session, url) {
  if (!window.Hls || !Hls.isSupported()) {
    if (audio.canPlayType("application/vnd.apple.mpegurl")) {
      audio.src = url; // native HLS: no program date time to measure with
      return false;
    }
    throw new Error("this browser has neither Media Source Extensions nor native HLS");
  }
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    if (transportSelect.value === "auto" && player.session === session) {
      // Auto chose HLS and it failed: the plain stream instead, without an error.
      const path = player.mount;
      setTimeout(() => {
        if (player.session === session) start(path, "plain");
        text(playingDetail, "HLS failed (" + data.details + "); playing the stream");
      }, 0);
      return;
    }
    fail("HLS: " + data.type + " " + data.details);
  });
  hls.loadSource(url);
  hls.attachMedia(audio);
  session.teardown = () => hls.destroy();
  session.latencyFn = () => {
    const date = hls.playingDate;
    if (date) return Math.max(0, (Date.now() - date.getTime()) / 1000);
    return hls.latency || null;
  };
  return false;
}

function setupDash(session, url) {
  if (!window.dashjs) throw new Error("dash.js is not loaded");
  const dash = dashjs.MediaPlayer().create();
  dash.updateSettings({
    streaming: { delay: { liveDelayFragmentCount: 3 } },
  });
  dash.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    const err = e && e.error;
    fail("DASH: " + (err && err.message ? err.message : JSON.stringify(err)));
  });
  // dash.js starts playback itself (autoplay): an extra play() before its MediaSource is
  // open leaves it stalled after the first segments in Chromium (no manifest refresh).
  dash.initialize(audio, url, true);
  session.teardown = () => dash.reset();
  session.latencyFn = () => {
    const l = dash.getCurrentLiveLatency();
    return isFinite(l) && l > 0 ? l : bufferedAhead();
  };
  return true;
}

// ---------------------------------------------------------------------------------------------
// PCM transports: chunks of 16-bit samples scheduled back to back on the audio clock.

class PcmScheduler {
  constructor() {
    this.format = null;
    this.nextAt = 0; // context time at which the next chunk starts
    this.queue = []; // { at, end, ts, serverTime } of scheduled chunks, oldest first
    this.firstTs = null;
    this.nodes = new Set();
    this.lastArrival = null; // context time of the previous chunk's arrival
    this.gap = 0; // longest recent wait between arrivals, s
  }

  setFormat(format) {
    if (format.encoding && format.encoding !== "s16le") {
      throw new Error("unexpected PCM encoding " + format.encoding);
    }
    this.format = format;
  }

  // Schedules one chunk: `samples` an Int16Array of interleaved samples.
  push(samples, ts, serverTime) {
    const f = this.format;
    if (!f) return;
    const channels = f.channels;
    const frames = Math.floor(samples.length / channels);
    const planes = [];
    for (let ch = 0; ch < channels; ch++) {
      const out = new Float32Array(frames);
      for (let i = 0, j = ch; i < frames; i++, j += channels) out[i] = samples[j] / 32768;
      planes.push(out);
    }
    this.pushPlanar(planes, f.rate, ts, serverTime);
  }

  // Schedules one chunk of planar float samples.
  pushPlanar(planes, rate, ts, serverTime) {
    const c = audioContext();
    const channels = planes.length;
    const frames = channels ? planes[0].length : 0;
    if (frames === 0) return;
    const now = c.currentTime;
    if (this.lastArrival !== null) {
      this.gap = Math.max(now - this.lastArrival, this.gap * PCM_GAP_DECAY);
    }
    this.lastArrival = now;
    if (this.nextAt < now + 0.01) {
      // Start, or recover from an underrun.
      this.nextAt = now + PCM_LEAD_S + Math.min(0.25, 0.2 * this.gap);
    } else if (this.nextAt > now + PCM_MAX_AHEAD_S + 2 * this.gap) {
      return; // too far ahead of the clock: drop to stay live
    }
    const buffer = c.createBuffer(channels, frames, rate);
    for (let ch = 0; ch < channels; ch++) buffer.copyToChannel(planes[ch], ch);
    const node = c.createBufferSource();
    node.buffer = buffer;
    node.connect(gain);
    node.start(this.nextAt);
    this.nodes.add(node);
    node.onended = () => this.nodes.delete(node);
    if (this.firstTs === null) this.firstTs = ts;
    this.queue.push({ at: this.nextAt, end: this.nextAt + buffer.duration, ts, serverTime });
    this.nextAt += buffer.duration;
    while (this.queue.length > 1 && this.queue[1].at <= now) this.queue.shift();
  }

  // The chunk under the play head, and how far into it the head is (s).
  playingChunk() {
    if (!ctx || !this.queue.length) return null;
    const now = ctx.currentTime;
    while (this.queue.length > 1 && this.queue[1].at <= now) this.queue.shift();
    const c = this.queue[0];
    if (now < c.at) return null;
    return { chunk: c, offset: Math.min(now, c.end) - c.at };
  }

  currentTime() {
    const p = this.playingChunk();
    if (!p) return 0;
    return (p.chunk.ts - this.firstTs) / 1000 + p.offset;
  }

  // Now minus the server time of the sample under the play head, plus what the audio output
  // adds after the context's clock.
  latency() {
    const p = this.playingChunk();
    if (!p) return null;
    const output = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
    return Math.max(0, (Date.now() - (p.chunk.serverTime + p.offset * 1000)) / 1000 + output);
  }

  stop() {
    for (const node of this.nodes) {
      try {
        node.stop();
      } catch (_) {
        /* not started yet */
      }
    }
    this.nodes.clear();
    this.queue = [];
  }
}

function withBurst(url, opus) {
  return url + (url.includes("?") ? "&" : "?") + "burst_ms=" + PCM_BURST_MS + (opus ? "&codec=opus" : "");
}

// Opus packets → WebCodecs → the scheduler. Media time and server time travel with each packet
// through the decoder by its timestamp.
class OpusStage {
  constructor(pcm, format) {
    if (typeof AudioDecoder === "undefined") {
      throw new Error("this browser has no WebCodecs AudioDecoder (Opus needs it; use PCM)");
    }
    this.stamps = new Map();
    this.decoder = new AudioDecoder({
      output: (data) => {
        const stamp = this.stamps.get(data.timestamp);
        this.stamps.delete(data.timestamp);
        const planes = [];
        for (let ch = 0; ch < data.numberOfChannels; ch++) {
          const plane = new Float32Array(data.numberOfFrames);
          data.copyTo(plane, { planeIndex: ch, format: "f32-planar" });
          planes.push(plane);
        }
        const rate = data.sampleRate;
        data.close();
        if (stamp) pcm.pushPlanar(planes, rate, stamp.ts, stamp.serverTime);
      },
      error: (e) => fail("Opus decoder: " + e.message),
    });
    this.decoder.configure({ codec: "opus", sampleRate: format.rate, numberOfChannels: format.channels });
  }

  push(bytes, ts, serverTime) {
    const timestamp = ts * 1000;
    this.stamps.set(timestamp, { ts, serverTime });
    this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp, data: bytes }));
  }

  close() {
    try {
      this.decoder.close();
    } catch (_) {
      /* already closed */
    }
  }
}

function wsTransport(url, opus) {
  audioContext();
  const pcm = new PcmScheduler();
  let stage = null;
  const socket = new WebSocket(withBurst(url, opus));
  socket.binaryType = "arraybuffer";
  let closedByUs = false;
  socket.onmessage = (e) => {
    if (typeof e.data === "string") {
      const msg = JSON.parse(e.data);
      if (msg.type === "format") {
        if (opus) stage = new OpusStage(pcm, msg);
        else pcm.setFormat(msg);
      } else if (msg.type === "metadata") nowPlayingFromStream(msg.title);
      return;
    }
    const view = new DataView(e.data);
    const ts = Number(view.getBigUint64(8, true));
    const serverTime = Number(view.getBigUint64(16, true));
    if (stage) stage.push(new Uint8Array(e.data, 24), ts, serverTime);
    else pcm.push(new Int16Array(e.data, 24), ts, serverTime);
  };
  socket.onerror = () => fail("WebSocket error");
  socket.onclose = (e) => {
    if (!closedByUs) fail("WebSocket closed (" + e.code + ")");
  };
  return {
    kind: opus ? "ws-opus" : "ws",
    currentTime: () => pcm.currentTime(),
    latency: () => pcm.latency(),
    stop() {
      closedByUs = true;
      socket.close();
      if (stage) stage.close();
      pcm.stop();
    },
  };
}

function base64ToBytes(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function base64ToInt16(b64) {
  const bytes = base64ToBytes(b64);
  return new Int16Array(bytes.buffer, 0, bytes.length >> 1);
}

function sseTransport(url, opus) {
  audioContext();
  const pcm = new PcmScheduler();
  let stage = null;
  const events = new EventSource(withBurst(url, opus));
  events.addEventListener("format", (e) => {
    const format = JSON.parse(e.data);
    if (opus) {
      if (stage) stage.close();
      stage = new OpusStage(pcm, format);
    } else pcm.setFormat(format);
  });
  events.addEventListener("metadata", (e) => nowPlayingFromStream(JSON.parse(e.data).title));
  events.addEventListener("audio", (e) => {
    const msg = JSON.parse(e.data);
    if (stage) stage.push(base64ToBytes(msg.data), msg.ts, msg.server_time);
    else pcm.push(base64ToInt16(msg.data), msg.ts, msg.server_time);
  });
  events.onerror = () => {
    // EventSource reconnects by itself (with Last-Event-ID); only a closed one is an error.
    if (events.readyState === EventSource.CLOSED) fail("event stream closed");
  };
  return {
    kind: opus ? "sse-opus" : "sse",
    currentTime: () => pcm.currentTime(),
    latency: () => pcm.latency(),
    stop() {
      events.close();
      if (stage) stage.close();
      pcm.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Choosing and starting a transport.

function offered(data) {
  const list = [];
  if (data.hls_url) list.push("hls");
  if (data.dash_url) list.push("dash");
  if (data.stream_url) list.push("plain");
  if (data.wav_url) list.push("wav");
  if (data.ws_url) list.push("ws", "ws-opus");
  if (data.sse_url) list.push("sse", "sse-opus");
  return list;
}

// The codec of a mount's HLS/DASH segments (CMAF), from its content type.
function cmafCodec(contentType) {
  const ct = (contentType || "").toLowerCase();
  if (ct.includes("aac") || ct.includes("mp4")) return "mp4a.40.2";
  if (ct.includes("opus") || ct.includes("ogg")) return "opus";
  if (ct.includes("flac")) return "flac";
  if (ct.includes("mpeg") || ct.includes("mp3")) return "mp4a.6B";
  return null;
}

// True when hls.js can play the mount here: MSE takes its segments' codec. MP3 comes as
// MPEG-TS (`ts.m3u8`, which hls.js feeds to MSE as audio/mpeg) or in fMP4, which Chromium's
// MSE does not take. Should the check be wrong, "auto" falls back to the plain stream when
// hls.js fails.
function msePlays(data) {
  const codec = cmafCodec(data.content_type);
  if (!(window.Hls && Hls.isSupported() && codec)) return false;
  if (codec === "mp4a.6B" && /ts\.m3u8(\?|$)/.test(data.hls_url)) {
    return MediaSource.isTypeSupported("audio/mpeg");
  }
  return MediaSource.isTypeSupported('audio/mp4; codecs="' + codec + '"');
}

function chooseTransport(data, wanted) {
  if (wanted !== "auto") return wanted;
  if (data.hls_url && (msePlays(data) || !window.MediaSource && audio.canPlayType("application/vnd.apple.mpegurl"))) {
    return "hls";
  }
  return "plain";
}

function begin(kind, data) {
  switch (kind) {
    case "hls":
      return elementTransport(kind, data.hls_url, setupHls);
    case "dash":
      return elementTransport(kind, data.dash_url, setupDash);
    case "plain":
      return elementTransport(kind, data.stream_url);
    case "wav":
      return elementTransport(kind, data.wav_url);
    case "ws":
      return wsTransport(data.ws_url, false);
    case "ws-opus":
      return wsTransport(data.ws_url, true);
    case "sse":
      return sseTransport(data.sse_url, false);
    case "sse-opus":
      return sseTransport(data.sse_url, true);
    default:
      throw new Error("unknown transport " + kind);
  }
}

// Plays `path` over the selected transport (or `forced`).
function start(path, forced) {
  const entry = mounts.get(path);
  if (!entry) {
    fail("no mount " + path);
    return false;
  }
  stop();
  const kind = forced || chooseTransport(entry.data, transportSelect.value);
  if (!offered(entry.data).includes(kind)) {
    fail(entry.data.path + " is not offered over " + (TRANSPORT_NAMES[kind] || kind));
    return false;
  }
  playingDetail.classList.remove("error");
  text(playingDetail, "connecting over " + TRANSPORT_NAMES[kind] + "…");
  try {
    player.session = begin(kind, entry.data);
  } catch (err) {
    fail(err.message);
    return false;
  }
  player.transport = kind;
  player.mount = path;
  stopButton.disabled = false;
  renderAll();
  return true;
}

function stop() {
  if (player.session) {
    try {
      player.session.stop();
    } catch (_) {
      /* already gone */
    }
  }
  player.session = null;
  player.transport = null;
  player.mount = null;
  stopButton.disabled = true;
  text(latencyOut, "–");
  text(playingDetail, "");
  renderAll();
}

function nowPlayingFromStream(title) {
  if (player.mount) update(player.mount, { song: title });
}

// ---------------------------------------------------------------------------------------------
// The station list.

// Stations are the mounts sharing a name (a station's renditions, or one encoder's mount).
function stationKey(data) {
  return data.name || data.path;
}

function mountElement(path) {
  const element = mountTemplate.content.firstElementChild.cloneNode(true);
  element.dataset.path = path;
  element.querySelector(".play").addEventListener("click", () => {
    if (player.mount === path) stop();
    else start(path);
  });
  return element;
}

function render(path) {
  const entry = mounts.get(path);
  if (!entry) return;
  const { data, element } = entry;
  text(element.querySelector(".title"), data.song || (data.live ? data.name || data.path : "off air"));
  const badge = element.querySelector(".live-badge");
  text(badge, data.live ? "live" : "offline");
  badge.classList.toggle("on", !!data.live);
  text(element.querySelector(".path"), data.path);
  const n = data.listeners || 0;
  text(element.querySelector(".listeners"), n + (n === 1 ? " listener" : " listeners"));
  const format = [data.content_type, data.bitrate ? data.bitrate + " kbit/s" : null]
    .filter(Boolean)
    .join(" · ");
  text(element.querySelector(".format"), format);
  element.querySelector(".playlist").href = data.playlists ? data.playlists.m3u : "#";
  element.classList.toggle("offline", !data.live);
  const isCurrent = player.mount === path;
  element.classList.toggle("current", isCurrent);
  const button = element.querySelector(".play");
  button.disabled = !data.live && !isCurrent;
  button.innerHTML = isCurrent ? "&#9632;" : "&#9654;";
  button.setAttribute("aria-label", isCurrent ? "Stop" : "Play " + data.path);
  if (isCurrent) {
    const name = data.name || data.path;
    text(playing, data.song || name);
    if (!playingDetail.classList.contains("error")) {
      const where = data.song ? name + " · " + data.path : data.path;
      text(playingDetail, where + " over " + TRANSPORT_NAMES[player.transport]);
    }
  }
  if (!player.mount) text(playing, "Nothing playing");
}

function renderAll() {
  const groups = new Map();
  for (const path of [...mounts.keys()].sort()) {
    const key = stationKey(mounts.get(path).data);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(path);
  }
  const cards = [];
  for (const [key, paths] of groups) {
    const card = stationTemplate.content.firstElementChild.cloneNode(true);
    const first = mounts.get(paths[0]).data;
    text(card.querySelector(".station-name"), key);
    text(card.querySelector(".station-description"), first.description || first.genre || "");
    const list = card.querySelector(".mounts");
    for (const path of paths) {
      list.appendChild(mounts.get(path).element);
      render(path);
    }
    cards.push(card);
  }
  stationsEl.replaceChildren(...cards);
  empty.hidden = mounts.size > 0;
  if (!player.mount) text(playing, "Nothing playing");
}

function upsert(data) {
  const entry = mounts.get(data.path);
  if (entry) entry.data = data;
  else mounts.set(data.path, { data, element: mountElement(data.path) });
}

async function load() {
  try {
    const response = await fetch("/api/v1/mounts", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(response.status + " " + response.statusText);
    const data = await response.json();
    const seen = new Set();
    for (const m of data) {
      upsert(m);
      seen.add(m.path);
    }
    for (const path of [...mounts.keys()]) {
      if (!seen.has(path) && path !== player.mount) mounts.delete(path);
    }
    renderAll();
  } catch (err) {
    text(connection, "cannot load mounts: " + err.message);
  }
}

function update(path, change) {
  const entry = mounts.get(path);
  if (!entry) return;
  Object.assign(entry.data, change);
  render(path);
}

function follow() {
  const events = new EventSource("/api/v1/events");
  events.onopen = () => text(connection, "live");
  events.onerror = () => text(connection, "reconnecting…");
  events.addEventListener("now_playing", (e) => {
    const ev = JSON.parse(e.data);
    update(ev.mount, { song: ev.title });
  });
  events.addEventListener("listeners", (e) => {
    const ev = JSON.parse(e.data);
    update(ev.mount, { listeners: ev.count });
  });
  // A source came or went: names, formats and the list itself may have changed.
  events.addEventListener("source_up", load);
  events.addEventListener("source_down", load);
}

// ---------------------------------------------------------------------------------------------
// Controls.

function formatLatency(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  return seconds < 10 ? seconds.toFixed(2) + " s" : seconds.toFixed(1) + " s";
}

setInterval(() => {
  if (player.session) text(latencyOut, formatLatency(player.latency()));
}, 250);

volume.addEventListener("input", () => {
  if (gain) gain.gain.value = Number(volume.value);
  localStorage.setItem("floe-volume", volume.value);
});
const savedVolume = localStorage.getItem("floe-volume");
if (savedVolume !== null) volume.value = savedVolume;

const savedTransport = localStorage.getItem("floe-transport");
if (savedTransport && [...transportSelect.options].some((o) => o.value === savedTransport)) {
  transportSelect.value = savedTransport;
}
transportSelect.addEventListener("change", () => {
  localStorage.setItem("floe-transport", transportSelect.value);
  if (player.mount) start(player.mount);
});
stopButton.addEventListener("click", stop);
audio.addEventListener("error", () => {
  if (player.session && audio.error && audio.hasAttribute("src")) fail("media error " + audio.error.code + ": " + (audio.error.message || ""));
});
audio.addEventListener("playing", () => {
  if (player.mount) render(player.mount);
});

load().then(follow);
