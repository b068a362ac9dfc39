// Real headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) driven by
// puppeteer-core: no browser is downloaded, and a missing one fails the test loudly. Its profile
// and temporary files go to a tempDir (removed at exit, so the file's TMPDIR is left empty), and
// screenshots to test-results/screenshots/ (gitignored), kept after the run as artefacts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ROOT } from './canopy.js';
import { atExit, tempDir } from './cleanup.js';

export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

/** Where chromium is: $CHROMIUM, else `chromium` or `chromium-browser` on the PATH; throws when there is none. */
export function chromiumPath(): string {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // not this one
    }
  }
  throw new Error('chromium is not installed: the dashboard tests need a real headless Chromium (run scripts/setup.sh, or apt-get install chromium)');
}

export async function launchChromium(): Promise<Browser> {
  const tmp = tempDir('canopy-chromium-');
  // Chromium's own temporary files (its SingletonSocket among them: a Unix socket's path must stay
  // under 108 bytes, which a test run's TMPDIR can exceed) under a short directory of /tmp, removed at exit.
  const short = mkdtempSync('/tmp/cnp-chr-');
  atExit(() => rmSync(short, { recursive: true, force: true }));
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: path.join(tmp, 'profile'),
    env: { ...process.env, TMPDIR: short, HOME: tmp, XDG_CONFIG_HOME: tmp, XDG_CACHE_HOME: tmp },
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
}

/** Saves a full-page screenshot as test-results/screenshots/NAME.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  return file;
}
