import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium, which the browser tests drive through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
/** Whether it is installed (browser tests skip with a warning otherwise). */
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/**
 * A headless chromium with a fresh profile in `profileDir`, no network of its own (no updates, sync, QUIC).
 * `bypassCSP` lets a test inject a script (axe-core) into pages whose policy allows only their own.
 */
export function launchChromium(profileDir: string, viewport = { width: 1200, height: 900 }, opts: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
    bypassCSP: opts.bypassCSP ?? false,
  });
}
