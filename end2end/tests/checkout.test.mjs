// Checkout in the browser through the emulator's hosted page, hydrated and with JavaScript off:
// a good card activates the plan, a declined card stays on the hosted page with Stripe's message,
// and cancelling comes back to the pricing page with nothing charged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, assertNoErrors, launch, newPage, visit, settled, shot, uniqueEmail, signUp } from './helpers.mjs';

async function signUpOwner(page, js, tag) {
  await signUp(page, js, { email: uniqueEmail(tag), org: `Checkout Co ${tag}` });
}

async function startProCheckout(page, js, seats) {
  await visit(page, '/pricing', js);
  const form = page.locator('[data-testid="checkout-pro"]');
  await form.locator('input[name="seats"]').fill(String(seats));
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/checkout\/cs_/);
  await page.waitForLoadState('load');
}

async function pay(page, card) {
  await page.fill('#card_number', card);
  await page.fill('#expiry', '12 / 34');
  await page.fill('#cvc', '123');
  await page.click('#submit');
  await page.waitForLoadState('load');
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`checkout with 4242 activates the plan (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await signUpOwner(page, js, `pay-${mode}`);
      await startProCheckout(page, js, 3);
      assert.match(await page.textContent('body'), /\$36\.00/);
      await shot(page, `${mode}-20-hosted-checkout`);

      await pay(page, '4242 4242 4242 4242');
      await page.waitForURL(/\/billing\/checkout\/success\?session_id=cs_/);
      await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
      assert.match(await page.textContent('[data-testid="checkout-active"]'), /You are on Pro/);
      assert.equal(await page.textContent('[data-testid="invoice-total"]'), '$36.00 paid');
      await shot(page, `${mode}-21-checkout-success`);

      await visit(page, '/billing', js);
      assert.equal(await page.textContent('[data-testid="current-plan"]'), 'Pro');
      assert.match(await page.textContent('[data-testid="plan-status"]'), /active · 3 seat\(s\) · renews on/);
      await shot(page, `${mode}-22-billing-with-plan`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });

  test(`a declined card stays on the hosted page; cancel charges nothing (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await signUpOwner(page, js, `decline-${mode}`);
      await startProCheckout(page, js, 1);
      await pay(page, '4000000000000002');
      assert.match(page.url(), /\/checkout\/cs_/);
      assert.match(await page.textContent('[role="alert"]'), /Your card was declined\./);
      await shot(page, `${mode}-23-hosted-declined`);

      await page.click('text=Cancel and go back');
      await page.waitForURL(`${BASE}/pricing?checkout=canceled`);
      await settled(page, js);
      assert.match(await page.textContent('[data-testid="checkout-canceled"]'), /Nothing was charged/);
      await visit(page, '/billing', js);
      assert.equal(await page.textContent('[data-testid="current-plan"]'), 'No plan yet');
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });
}
