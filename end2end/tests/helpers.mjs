// Shared browser helpers: Debian's Chromium through playwright-core, one screenshot per page visited.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import assert from 'node:assert/strict';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const SHOTS = process.env.SCREENSHOT_DIR ?? new URL('../screenshots/', import.meta.url).pathname;
export const DEMO_PASSWORD = 'demo-billing-2026';
/** The demo staff accounts' authenticator secret (base32), as the README publishes it. */
export const DEMO_TOTP_SECRET = 'DEMOSTAFFTOTPSECRETFORTHEPORTAL2';
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

/** Opens `path`; with JavaScript on, waits until the page's islands (if it has any) are live. */
export async function visit(page, path, js) {
  await page.goto(BASE + path);
  await settled(page, js);
}

export async function settled(page, js) {
  await page.waitForLoadState('load');
  // Pages without islands load no script: nothing to wait for.
  if (js && (await page.locator('leptos-island').count()) > 0) {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
  }
}

export async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

export function uniqueEmail(tag) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** The RFC 6238 code (HMAC-SHA1, 6 digits, 30-second steps) of a base32 secret for a step. */
export function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

// Each code works once per staff member, and the browser tests run one file per process: the
// last step used per account is kept in a file beside the run, so a later sign-in waits for a
// fresh code instead of being refused.
const RUN = (process.env.BASE_URL ?? BASE).replace(/[^0-9a-z]+/gi, '_');
function stepFile(email) { return join(tmpdir(), `bp-e2e-${RUN}-${email}.step`); }

/** A code for `email` that has not been used yet, waiting for the next step when needed. */
async function freshCode(email) {
  const used = existsSync(stepFile(email)) ? Number(readFileSync(stepFile(email), 'utf8')) : 0;
  let step = Math.floor(Date.now() / 30000);
  while (step <= used) {
    await new Promise((r) => setTimeout(r, 1000));
    step = Math.floor(Date.now() / 30000);
  }
  writeFileSync(stepFile(email), String(step));
  return totp(DEMO_TOTP_SECRET, step);
}

/** Signs `page` in to the support console as `email` (a demo staff account), with its code. */
export async function staffSignIn(page, js, email) {
  await visit(page, '/support/sign-in', js);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.fill('input[name="code"]', await freshCode(email));
  await page.click('main button[type="submit"]');
  // A catalog admin's console starts at the catalog.
  await page.waitForURL(`${BASE}${email.startsWith('catalog@') ? '/support/catalog' : '/support'}`);
  await settled(page, js);
}

/** A context signed in to the console as `email`, reusing the run's session when there is one. */
export async function staffContext(browser, email) {
  const saved = join(tmpdir(), `bp-e2e-${RUN}-${email}.session.json`);
  if (existsSync(saved)) {
    const context = await browser.newContext({ javaScriptEnabled: false, storageState: saved });
    const page = await context.newPage();
    const response = await page.goto(`${BASE}/support`);
    if (response.ok() && page.url() === `${BASE}/support`) return { context, page };
    await context.close();
  }
  const { context, page } = await newPage(browser, false);
  await staffSignIn(page, false, email);
  await context.storageState({ path: saved });
  return { context, page };
}

/**
 * The first link in the newest email to `to` whose URL matches `pattern`, read from the development
 * mailbox by a support agent in a context of its own (the mailbox is for staff only).
 */
export async function mailboxLink(browser, to, pattern, screenshot) {
  const { context, page } = await staffContext(browser, 'agent@demo.test');
  try {
    for (let tries = 0; ; tries++) {
      await visit(page, '/dev/mailbox', false);
      const links = page.locator('[data-testid="mailbox"] li', { hasText: to }).locator('a');
      const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      const link = hrefs.find((h) => pattern.test(h));
      if (link) {
        if (screenshot) await shot(page, screenshot);
        return link;
      }
      if (tries >= 20) throw new Error(`no email to ${to} with a link matching ${pattern}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await context.close();
  }
}

/**
 * Signs up as a visitor does: the form, the emailed link (read from the mailbox), and its
 * button; ends on /billing, signed in.
 */
export async function signUp(page, js, { email, password = 'correct horse battery', org, screenshots }) {
  await visit(page, '/sign-up', js);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.fill('input[name="org_name"]', org);
  if (screenshots) await shot(page, `${screenshots}-filled`);
  await page.click('main button[type="submit"]');
  await page.waitForURL(`${BASE}/sign-up/sent`);
  await settled(page, js);
  if (screenshots) await shot(page, `${screenshots}-sent`);
  const link = await mailboxLink(page.context().browser(), email, /\/sign-up\/confirm\/[0-9a-f]{64}$/);
  await page.goto(link);
  await settled(page, js);
  await page.waitForSelector('[data-testid="sign-up-summary"]');
  if (screenshots) await shot(page, `${screenshots}-confirm`);
  await page.click('main button[type="submit"]');
  await page.waitForURL(`${BASE}/billing`);
  await settled(page, js);
}

/** Runs the portal's CLI on the server's database, with the server's Stripe emulator. */
export function cli(...args) {
  const bin = process.env.E2E_BIN;
  assert.ok(bin, 'E2E_BIN names the billing-portal binary (scripts/dev e2e sets it)');
  return execFileSync(bin, args, {
    env: {
      ...process.env,
      STRIPE_MODE: 'stripe',
      STRIPE_SECRET_KEY: process.env.STRIPE_EMULATOR_SECRET,
      STRIPE_WEBHOOK_SECRET: 'whsec_e2e',
      STRIPE_API_BASE: process.env.E2E_STRIPE_API_BASE,
      LOG_FORMAT: 'json',
    },
    encoding: 'utf8',
  });
}

/** Checks a console action's confirmation page (its title), confirms, and returns to the customer with the result. */
export async function confirmEffect(page, js, title, result, screenshot) {
  await page.waitForURL(/\/support\/confirm\?do=/);
  await settled(page, js);
  await page.waitForSelector('[data-testid="confirm-title"]');
  assert.equal(await page.textContent('[data-testid="confirm-title"]'), title);
  if (screenshot) await shot(page, screenshot);
  await page.click('[data-testid="confirm-button"]');
  await page.waitForURL(/\/support\/customers\/org_[^?]*\?done=/);
  await settled(page, js);
  await page.waitForSelector('[data-testid="refund-result"]');
  assert.match(await page.textContent('[data-testid="refund-result"]'), result);
}

/** Signs in to the console as `staffEmail` and opens the customer found by `customerEmail`. */
export async function staffFinds(page, js, staffEmail, customerEmail) {
  await staffSignIn(page, js, staffEmail);
  if (js) {
    // Results as you type.
    await page.locator('[data-testid="search-input"]').pressSequentially(customerEmail.slice(0, 18));
  } else {
    await page.fill('[data-testid="search-input"]', customerEmail);
    await page.click('form[role="search"] button[type="submit"]');
    await page.waitForLoadState('load');
  }
  // As one types, earlier answers list other customers (those matching "co", "con", …): wait for
  // the one that matches what was typed.
  const hit = page.locator('[data-testid="search-results"] a', { hasText: customerEmail.slice(0, 18) });
  await hit.first().waitFor();
  await shot(page, `${js ? 'js' : 'nojs'}-70-console-search`);
  await hit.first().click();
  await page.waitForURL(/\/support\/customers\/org_/);
  await settled(page, js);
}

/** Saves `body` as the catalog's draft (the catalog page is open), checks the changes it lists, publishes it, and returns the notice. */
export async function publishDraft(page, js, body, expectChange, screenshot) {
  await page.fill('[data-testid="draft-body"]', body);
  await page.click('[data-testid="draft-save"]');
  await page.waitForURL(/\/support\/catalog\?notice=Draft/);
  await settled(page, js);
  const changes = await page.textContent('[data-testid="draft-changes"]');
  assert.match(changes, expectChange);
  if (screenshot) await shot(page, screenshot);
  await page.click('[data-testid="draft-publish"]');
  await page.waitForURL(/\/support\/catalog\?notice=Published/);
  await settled(page, js);
  return page.textContent('[data-testid="notice"]');
}
