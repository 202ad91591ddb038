// Where specs save the screenshots they take on purpose (gitignored):
//   await page.screenshot({ path: artifact('sandbox-running.png') });
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
