// Glass-to-glass latency as Floe's web player reports it, in headless Chromium.
//
//   node bench/latency.mjs --base http://127.0.0.1:8000 --mount /bench.aac
//        [--transports hls,ws] [--warmup 10] [--seconds 20] [--chromium /usr/bin/chromium]
//
// For each transport in turn (one at a time, so they do not compete for the CPU), the player
// plays the mount; after `warmup` seconds its latency figure is sampled every 500 ms for
// `seconds`. The figure is what the page shows a listener: for HLS, now minus the program date
// time (stamped by Floe at ingest) of the playing position; for WebSocket and SSE, now minus
// the server time (when Floe had the audio) of the chunk under the play head. Prints one line
// per transport with the median, 10th and 90th percentiles, minimum and maximum, in ms.
import { launch } from "../web-tests/player.mjs";

function parseArgs(argv) {
  const opts = { transports: ["hls", "ws"], warmup: 10, seconds: 20, chromium: "/usr/bin/chromium" };
  for (let i = 2; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    switch (key) {
      case "--base": opts.base = value.replace(/\/$/, ""); break;
      case "--mount": opts.mount = value; break;
      case "--transports": opts.transports = value.split(","); break;
      case "--warmup": opts.warmup = Number(value); break;
      case "--seconds": opts.seconds = Number(value); break;
      case "--chromium": opts.chromium = value; break;
      default: throw new Error("unknown option " + key);
    }
  }
  if (!opts.base || !opts.mount) throw new Error("--base and --mount are required");
  return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(browser, opts, transport) {
  const page = await browser.newPage();
  await page.goto(opts.base + "/");
  await page.waitForFunction(
    (m) => window.floePlayer && [...document.querySelectorAll(".mount")].some((el) => el.dataset.path === m),
    opts.mount,
  );
  const started = await page.evaluate(([m, t]) => floePlayer.play(m, t), [opts.mount, transport]);
  if (!started) throw new Error(transport + ": the player did not start: " + (await page.evaluate(() => floePlayer.errors.join("; "))));
  await sleep(opts.warmup * 1000);
  const from = await page.evaluate(() => floePlayer.currentTime());
  const samples = [];
  for (let i = 0; i < opts.seconds * 2; i++) {
    const l = await page.evaluate(() => floePlayer.latency());
    if (l != null) samples.push(l * 1000);
    await sleep(500);
  }
  const errors = await page.evaluate(() => floePlayer.errors.slice());
  const advanced = (await page.evaluate(() => floePlayer.currentTime())) - from;
  await page.close();
  if (!samples.length) throw new Error(transport + ": no latency figure (errors: " + errors.join("; ") + ")");
  samples.sort((a, b) => a - b);
  const r = (x) => Math.round(x);
  return {
    transport,
    median: r(percentile(samples, 50)),
    p10: r(percentile(samples, 10)),
    p90: r(percentile(samples, 90)),
    min: r(samples[0]),
    max: r(samples[samples.length - 1]),
    n: samples.length,
    advanced_s: Math.round(advanced * 10) / 10,
    errors,
  };
}

async function main() {
  const opts = parseArgs(process.argv);
  const browser = await launch(opts.chromium);
  try {
    for (const t of opts.transports) {
      const m = await measure(browser, opts, t);
      console.log(
        `${t.padEnd(5)} glass-to-glass latency (player): median ${m.median} ms, p10 ${m.p10} ms, ` +
          `p90 ${m.p90} ms, min ${m.min} ms, max ${m.max} ms (${m.n} samples over ${opts.seconds} s ` +
          `after ${opts.warmup} s; playback advanced ${m.advanced_s} s meanwhile${m.errors.length ? ", errors: " + m.errors.join("; ") : ""})`,
      );
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
