// Harness smoke test: the release build loads, is titled, and raises no
// uncaught error while the wasm app starts.
import { expect, test } from '@playwright/test';
import { artifact } from './artifacts';

test('the app loads without page errors', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle(/tailsim/i);
  // Give the wasm module time to download, instantiate and mount.
  await page.waitForFunction(() => (window as any).wasmBindings !== undefined, null, {
    timeout: 30_000,
  });
  await page.waitForTimeout(500);
  await page.screenshot({ path: artifact('smoke.png') });
  expect(errors, `uncaught page errors:\n${errors.join('\n')}`).toEqual([]);
});
