// The one headless Chromium every browser run here uses: the end-to-end
// tests (playwright.config.ts) and the benchmark scripts (bench.mjs,
// bench_page.mjs, bench_embed.mjs), so all of them measure and test the
// same browser. It is Debian's Chromium (`CHROMIUM_PATH`, else
// /usr/bin/chromium, installed by `cargo xtask setup`); the flags keep it
// from doing work of its own while it is timed (no GPU process, no
// background networking, component updates or sync) and let it run as
// root in a container.

import { chromium } from '@playwright/test';

/** Playwright's launch options for it. */
export const launchOptions = {
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
};

/** Launches it (the benchmark scripts, which run outside the test runner). */
export function launchBrowser() {
  return chromium.launch(launchOptions);
}
