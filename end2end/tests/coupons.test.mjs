// Promotion codes in the browser, hydrated and with JavaScript off: an unknown code is refused on
// the pricing page with its message; LAUNCH20 makes the hosted page charge 20% less, and the plan
// page shows the discount with the periods it has left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, assertNoErrors, launch, newPage, visit, settled, shot, uniqueEmail, signUp } from './helpers.mjs';

async function checkoutWithCode(page, js, code) {
  await visit(page, '/pricing', js);
  const form = page.locator('[data-testid="checkout-pro"]');
  await form.locator('input[name="seats"]').fill('2');
  await form.locator('input[name="promotion_code"]').fill(code);
  await form.locator('button[type="submit"]').click();
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`promotion codes at checkout (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await signUp(page, js, { email: uniqueEmail(`coupon-${mode}`), org: `Coupon Co ${mode}` });

      await checkoutWithCode(page, js, 'nope');
      await page.waitForSelector('[role="alert"]');
      assert.match(await page.textContent('[role="alert"]'), /The code NOPE does not exist/);
      await settled(page, js);
      await shot(page, `${mode}-60-unknown-code`);

      // 2 seats × $12.00 = $24.00, less 20% = $19.20 on the hosted page.
      await checkoutWithCode(page, js, 'launch20');
      await page.waitForURL(/\/checkout\/cs_/);
      assert.equal((await page.textContent('#amount-due')).trim(), '$19.20');
      await page.fill('#card_number', '4242424242424242');
      await page.click('#submit');
      await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
      assert.equal(await page.textContent('[data-testid="invoice-total"]'), '$19.20 paid');

      await visit(page, '/billing/plan', js);
      assert.equal(
        (await page.textContent('[data-testid="coupon"]')).trim(),
        'Discount · Launch offer: 20% off 3 billing periods (2 left)',
      );
      await shot(page, `${mode}-61-plan-with-discount`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });
}
