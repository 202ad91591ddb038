// The headless Chromium every benchmark script (bench.mjs, bench_page.mjs,
// bench_embed.mjs) measures in: one set of launch flags, so the three
// benchmarks see the same browser. The flags keep Chromium from doing work
// of its own while it is timed (no GPU process, no background networking,
// component updates or sync) and let it run as root in a container.

import { chromium } from '@playwright/test';

/** Launches the benchmarks' browser (`CHROMIUM_PATH`, else /usr/bin/chromium). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
