// Shared browser helpers: Debian's Chromium through playwright-core, one screenshot per page visited.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const SHOTS = process.env.SCREENSHOT_DIR ?? new URL('../screenshots/', import.meta.url).pathname;
export const DEMO_PASSWORD = 'demo-billing-2026';
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
  });
}

/**
 * A page in a fresh context; with `js` false the browser runs no script at all. Script errors and
 * console errors (where hydration problems show) are collected in `errors`; call
 * `assertNoErrors(errors)` at the end of a test.
 */
export async function newPage(browser, js) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A 302 to sign-in or a 4xx answer is part of a flow, not a script problem.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return { context, page, errors };
}

export function assertNoErrors(errors) {
  if (errors.length) throw new Error(`the browser reported errors:\n${errors.join('\n')}`);
}

/** Opens `path`; with JavaScript on, waits until the page is hydrated. */
export async function visit(page, path, js) {
  await page.goto(BASE + path);
  await settled(page, js);
}

export async function settled(page, js) {
  await page.waitForLoadState('load');
  if (js) await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
}

export async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

export function uniqueEmail(tag) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Signs `page` in to the support console as `email` (a demo staff account). */
export async function staffSignIn(page, js, email) {
  await visit(page, '/support/sign-in', js);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.click('main button[type="submit"]');
  await page.waitForURL(`${BASE}/support`);
  await settled(page, js);
}

/**
 * The first link in the newest email to `to` whose URL matches `pattern`, read from the development
 * mailbox by a support agent in a context of its own (the mailbox is for staff only).
 */
export async function mailboxLink(browser, to, pattern, screenshot) {
  const { context, page } = await newPage(browser, false);
  try {
    await staffSignIn(page, false, 'agent@demo.test');
    await visit(page, '/dev/mailbox', false);
    const links = page.locator('[data-testid="mailbox"] li', { hasText: to }).first().locator('a');
    const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    const link = hrefs.find((h) => pattern.test(h));
    if (!link) throw new Error(`no email to ${to} with a link matching ${pattern}`);
    if (screenshot) await shot(page, screenshot);
    return link;
  } finally {
    await context.close();
  }
}
