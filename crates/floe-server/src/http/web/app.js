// Floe's page: the mount list from /api/v1/mounts, kept current by /api/v1/events.
"use strict";

const list = document.getElementById("mounts");
const empty = document.getElementById("empty");
const template = document.getElementById("mount-template");
const audio = document.getElementById("audio");
const volume = document.getElementById("volume");
const playing = document.getElementById("playing");
const connection = document.getElementById("connection");

// path -> { data, element }
const mounts = new Map();
let current = null; // path being played

function text(el, value) {
  el.textContent = value == null ? "" : String(value);
}

function render(path) {
  const entry = mounts.get(path);
  if (!entry) return;
  const { data, element } = entry;
  text(element.querySelector(".name"), data.name || data.path);
  text(element.querySelector(".title"), data.song || (data.live ? "" : "off air"));
  const badge = element.querySelector(".live-badge");
  text(badge, data.live ? "live" : "offline");
  badge.classList.toggle("on", data.live);
  const n = data.listeners || 0;
  text(element.querySelector(".listeners"), n + (n === 1 ? " listener" : " listeners"));
  const format = [data.content_type, data.bitrate ? data.bitrate + " kbit/s" : null]
    .filter(Boolean)
    .join(", ");
  text(element.querySelector(".format"), format);
  element.querySelector(".playlist").href = data.playlists ? data.playlists.m3u : "#";
  element.classList.toggle("offline", !data.live);
  const button = element.querySelector(".play");
  button.disabled = !data.live;
  const isCurrent = current === path && !audio.paused;
  button.innerHTML = isCurrent ? "&#10074;&#10074;" : "&#9654;";
  button.setAttribute("aria-label", isCurrent ? "Pause" : "Play");
  if (current === path) {
    text(playing, (data.name || data.path) + (data.song ? " \u2014 " + data.song : ""));
  }
}

function renderAll() {
  list.replaceChildren();
  const paths = [...mounts.keys()].sort();
  for (const path of paths) {
    list.appendChild(mounts.get(path).element);
    render(path);
  }
  empty.hidden = paths.length > 0;
}

function toggle(path) {
  const entry = mounts.get(path);
  if (!entry) return;
  if (current === path && !audio.paused) {
    audio.pause();
    // Drop the connection instead of buffering a live stream in the background.
    audio.removeAttribute("src");
    audio.load();
  } else {
    current = path;
    audio.src = entry.data.stream_url;
    audio.play().catch((err) => text(playing, "Cannot play: " + err.message));
  }
  mounts.forEach((_, p) => render(p));
}

function upsert(data) {
  let entry = mounts.get(data.path);
  if (!entry) {
    const element = template.content.firstElementChild.cloneNode(true);
    element.querySelector(".play").addEventListener("click", () => toggle(data.path));
    entry = { data, element };
    mounts.set(data.path, entry);
  } else {
    entry.data = data;
  }
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
      if (!seen.has(path)) mounts.delete(path);
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

volume.addEventListener("input", () => {
  audio.volume = Number(volume.value);
  localStorage.setItem("floe-volume", volume.value);
});
const savedVolume = localStorage.getItem("floe-volume");
if (savedVolume !== null) volume.value = savedVolume;
audio.volume = Number(volume.value);
audio.addEventListener("pause", () => mounts.forEach((_, p) => render(p)));
audio.addEventListener("playing", () => mounts.forEach((_, p) => render(p)));

load().then(follow);
