// Playwright configuration for tailsim's end-to-end tests.
//
// Run through `cargo xtask test`, which builds the release site, serves it on
// a free 127.0.0.1 port and sets BASE_URL. By hand:
//   cargo xtask serve &   then   BASE_URL=http://127.0.0.1:8080 npx playwright test
//
// The browser is Debian's Chromium with the flags every browser run here
// uses (chromium.mjs); Playwright's own browser download is never used.
import { defineConfig } from '@playwright/test';
import { launchOptions } from './chromium.mjs';

const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions,
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
