// Embed benchmark (not a test): what a blog reader downloads and waits for.
// Opens a blog post holding the light embed as the Share dialog writes it
// (`<script type="module" src=".../embed/tailsim-embed.js">` and a
// `<tailsim-embed link="#s=1....">` of the sandbox's default scenario,
// which plays as soon as it is on screen) in a 600x400 viewport over a
// throttled network (NET_MBIT, default 10 Mbit/s, and RTT_MS, default 40 ms,
// through the DevTools protocol), from a fresh browser context each time
// (nothing cached), and measures
//   - the bytes transferred (encoded: what the static server sends, gzip
//     for text and wasm, as a static host does), by kind (wasm, js, other);
//   - seconds from navigation to the first chart: the embed's first chart
//     has its first simulated series drawn (saturated pixels).
// RUNS (default 3) runs; the median and the runs are printed as one JSON
// line on stdout, progress on stderr.
//
//   BASE_URL=http://127.0.0.1:PORT node bench_embed.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { launchBrowser } from './chromium.mjs';

const baseUrl = process.env.BASE_URL;
const mbit = Number(process.env.NET_MBIT ?? '10');
const rttMs = Number(process.env.RTT_MS ?? '40');
const runs = Number(process.env.RUNS ?? '3');
if (!baseUrl) {
  console.error('bench_embed.mjs: set BASE_URL');
  process.exit(2);
}

const browser = await launchBrowser();

/** The share link of `assets/scenarios/mmc.toml`, as the sandbox encodes
 * it: `#s=1.<base64url(deflate(json))>`. */
function shareLink() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const scenario = fs.readFileSync(path.join(here, '../../assets/scenarios/mmc.toml'), 'utf8');
  const packed = zlib.deflateRawSync(Buffer.from(JSON.stringify({ v: 1, scenario, seed: 1 })), { level: 9 });
  return `#s=1.${packed.toString('base64url')}`;
}

const POST = `<!doctype html><html><head><meta charset="utf-8"><title>A post</title></head>
<body style="margin:0;font:18px serif"><article style="padding:8px">
<script type="module" src="${baseUrl}/embed/tailsim-embed.js"></script>
<tailsim-embed link="${shareLink()}"></tailsim-embed>
</article></body></html>`;

/** Series pixels on the embed's chart (its canvas, in its shadow root):
 * saturated colours, which the axes, grid and text (greys) never use. 0
 * until it exists and has data drawn. */
async function firstChartInk(page) {
  return page.evaluate(() => {
    const c = document.querySelector('tailsim-embed')?.shadowRoot?.querySelector('canvas');
    if (!c || c.width === 0 || c.height === 0) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let hits = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 80) hits++;
    }
    return hits;
  });
}

async function once() {
  const context = await browser.newContext({ viewport: { width: 600, height: 400 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: rttMs,
    downloadThroughput: (mbit * 1e6) / 8,
    uploadThroughput: (mbit * 1e6) / 8,
  });
  // The post itself is the blog's, not the embed's: served by the test.
  await page.route('**/a-blog-post.html', (r) => r.fulfill({ contentType: 'text/html', body: POST }));
  // Every response the embed makes, at its encoded size.
  const bytes = { wasm: 0, js: 0, other: 0 };
  const files = [];
  context.on('requestfinished', async (r) => {
    const url = r.url();
    if (url.endsWith('/a-blog-post.html')) return;
    const kind = url.endsWith('.wasm') ? 'wasm' : url.endsWith('.js') ? 'js' : 'other';
    const s = await r.sizes().catch(() => null);
    const n = s ? s.responseBodySize : 0;
    bytes[kind] += n;
    files.push({ file: url.replace(baseUrl, ''), kb: Math.round(n / 1024), ms: Math.round(r.timing().responseEnd) });
  });
  const t0 = Date.now();
  await page.goto(`${baseUrl}/a-blog-post.html`);
  let firstChartS = null;
  while (Date.now() - t0 < 60_000) {
    if ((await firstChartInk(page)) > 50) {
      firstChartS = (Date.now() - t0) / 1000;
      break;
    }
    await page.waitForTimeout(25);
  }
  await context.close();
  const total = bytes.wasm + bytes.js + bytes.other;
  const kb = (x) => Math.round(x / 1024);
  return {
    first_chart_s: firstChartS,
    kb: { total: kb(total), wasm: kb(bytes.wasm), js: kb(bytes.js), other: kb(bytes.other) },
    files,
  };
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  console.error(`embed run ${i + 1}/${runs}: first chart ${r.first_chart_s} s, ${r.kb.total} KB`);
  results.push(r);
}
await browser.close();
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
console.log(
  JSON.stringify({
    net_mbit: mbit,
    rtt_ms: rttMs,
    first_chart_s: median(results.map((r) => r.first_chart_s)),
    kb: results[0].kb,
    runs: results,
  }),
);
