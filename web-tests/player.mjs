// Plays Floe's mounts in its web player in headless Chromium and checks that playback runs.
//
//   node player.mjs --base http://127.0.0.1:8000 --transports hls,ws [--mounts /a,/b]
//        [--mounts-hls /a]   (the mounts one transport plays, instead of --mounts)
//        [--auto-expect /a=hls,/b=plain]   (what the "auto" transport must choose)
//        [--seconds 10] [--tones /a=440,/b=880] [--artifacts DIR] [--chromium /usr/bin/chromium]
//
// One browser; one page per transport, all at once. Each page loads the player at `base`,
// picks the transport in the selector and clicks play on each mount that offers it (the
// mount's entry in /api/v1/mounts has the transport's URL), then samples the player every
// second until window.floePlayer.currentTime() has advanced `seconds` (never backwards, within
// twice that plus 5 s; a stall on a loaded machine is allowed), no error may be reported, and for a mount listed in --tones the analyser's strongest frequency must
// be that mount's tone for most samples.
// A screenshot of each page goes to DIR/player-<transport>.png. Prints one JSON line per
// (transport, mount) and a closing "N passed, N failed" line; exits 1 on any failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const FIELDS = {
  hls: "hls_url", dash: "dash_url", plain: "stream_url", wav: "wav_url",
  ws: "ws_url", sse: "sse_url", "ws-opus": "ws_url", "sse-opus": "sse_url",
  auto: "stream_url",
};

function parseArgs(argv) {
  const opts = { seconds: 10, artifacts: "test-artifacts", chromium: "/usr/bin/chromium", tones: {}, mounts: null, mountsFor: {}, autoExpect: {} };
  for (let i = 2; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error("missing value for " + key);
    switch (key) {
      case "--base": opts.base = value.replace(/\/$/, ""); break;
      case "--transports": opts.transports = value.split(",").filter(Boolean); break;
      case "--mounts": opts.mounts = value.split(",").filter(Boolean); break;
      case "--seconds": opts.seconds = Number(value); break;
      case "--tones":
        for (const pair of value.split(",").filter(Boolean)) {
          const [mount, hz] = pair.split("=");
          opts.tones[mount] = Number(hz);
        }
        break;
      case "--artifacts": opts.artifacts = value; break;
      case "--chromium": opts.chromium = value; break;
      case "--auto-expect": // /a=hls,/b=plain: what "auto" must choose for a mount
        for (const pair of value.split(",").filter(Boolean)) {
          const [mount, t] = pair.split("=");
          opts.autoExpect[mount] = t;
        }
        break;
      default:
        // --mounts-hls /a,/b: the mounts one transport plays (instead of --mounts).
        if (key.startsWith("--mounts-") && FIELDS[key.slice(9)]) {
          opts.mountsFor[key.slice(9)] = value.split(",").filter(Boolean);
          break;
        }
        throw new Error("unknown option " + key);
    }
  }
  if (!opts.base || !opts.transports) throw new Error("--base and --transports are required");
  for (const t of opts.transports) if (!FIELDS[t]) throw new Error("unknown transport " + t);
  return opts;
}

export async function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
      // Pages in the background must keep their timers and audio running.
      "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function playOne(page, opts, transport, mount) {
  const result = { transport, mount, ok: false, samples: [], frequencies: [], latencies: [], errors: [] };
  const clicked = await page.evaluate(
    ([path, t]) => {
      const sel = document.getElementById("transport");
      sel.value = t;
      sel.dispatchEvent(new Event("change"));
      const li = [...document.querySelectorAll(".mount")].find((el) => el.dataset.path === path);
      if (!li) return false;
      li.querySelector(".play").click();
      return true;
    },
    [mount, transport],
  );
  if (!clicked) {
    result.errors.push("no play button for " + mount);
    return result;
  }
  // Wait for playback to start (at most 20 s).
  let started = false;
  for (let i = 0; i < 40 && !started; i++) {
    await sleep(500);
    const s = await page.evaluate(() => ({ t: floePlayer.currentTime(), e: floePlayer.errors.slice() }));
    if (s.e.length) break;
    started = s.t > 0;
  }
  // Sample every second until playback has advanced `seconds` (a stall on a loaded machine
  // only makes it take longer), for at most twice that plus 5 samples.
  const limit = opts.seconds * 2 + 5;
  for (let i = 0; i <= limit && started; i++) {
    const s = await page.evaluate(() => ({
      t: floePlayer.currentTime(),
      l: floePlayer.latency(),
      f: floePlayer.frequency(),
      transport: floePlayer.transport,
    }));
    result.samples.push(Number(s.t.toFixed(3)));
    result.latencies.push(s.l == null ? null : Number(s.l.toFixed(3)));
    result.frequencies.push(s.f == null ? null : Math.round(s.f));
    result.active = s.transport;
    if (s.t - result.samples[0] >= opts.seconds && i >= opts.seconds) break;
    await sleep(1000);
  }
  result.errors.push(...(await page.evaluate(() => floePlayer.errors.slice())));
  const played = result.samples.length ? result.samples[result.samples.length - 1] - result.samples[0] : 0;
  const monotonic = result.samples.every((t, i) => i === 0 || t >= result.samples[i - 1]);
  if (!started) result.errors.push("playback did not start");
  else if (!monotonic) result.errors.push("currentTime went backwards: " + result.samples.join(" "));
  else if (played < opts.seconds) {
    result.errors.push("currentTime advanced " + played.toFixed(3) + " s, not " + opts.seconds + " s: " + result.samples.join(" "));
  }
  const tone = opts.tones[mount];
  if (tone && started) {
    const near = result.frequencies.filter((f) => f != null && Math.abs(f - tone) <= tone * 0.03);
    if (near.length < result.frequencies.length / 2) {
      result.errors.push("the analyser did not see the " + tone + " Hz tone: " + result.frequencies.join(" "));
    }
  }
  const expected = transport === "auto" ? opts.autoExpect[mount] : transport;
  if (expected && result.active !== expected) {
    result.errors.push("the player chose " + result.active + ", not " + expected);
  }
  result.ok = result.errors.length === 0;
  return result;
}

async function runTransport(browser, opts, transport, mountsJson) {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(opts.base + "/");
  await page.waitForFunction(() => window.floePlayer && document.querySelectorAll(".mount").length > 0);
  const field = FIELDS[transport];
  const results = [];
  const wanted = opts.mountsFor[transport] || opts.mounts;
  const paths = mountsJson
    .filter((m) => m.live && m[field] && (!wanted || wanted.includes(m.path)))
    .map((m) => m.path);
  for (const w of wanted || []) {
    if (!paths.includes(w)) results.push({ transport, mount: w, ok: false, errors: [w + " is not live with " + field] });
  }
  if (!paths.length) {
    results.push({ transport, mount: null, ok: false, errors: ["no live mount offers " + field] });
  }
  for (const mount of paths) {
    const r = await playOne(page, opts, transport, mount);
    if (mount === paths[paths.length - 1]) {
      mkdirSync(opts.artifacts, { recursive: true });
      await page.screenshot({ path: join(opts.artifacts, "player-" + transport + ".png") });
    }
    await page.evaluate(() => floePlayer.stop());
    results.push(r);
  }
  if (consoleErrors.length) {
    results.push({ transport, mount: null, ok: false, errors: consoleErrors });
  }
  await page.close();
  return results;
}

async function main() {
  const opts = parseArgs(process.argv);
  const response = await fetch(opts.base + "/api/v1/mounts", { headers: { Accept: "application/json" } });
  const mountsJson = await response.json();
  const browser = await launch(opts.chromium);
  let results;
  try {
    const perTransport = await Promise.all(opts.transports.map((t) => runTransport(browser, opts, t, mountsJson)));
    results = perTransport.flat();
  } finally {
    await browser.close();
  }
  for (const r of results) console.log(JSON.stringify(r));
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
