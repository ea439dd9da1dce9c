// Contracts in the browser, hydrated and with JavaScript off: a billing admin gives a paying
// customer its own Pro price ($10.00 a seat, at least $50.00 a month, until a date) from the
// console after checking its exact effect; the customer's plan page announces it; a month passes
// on a test clock, and the renewal bills 3 × $10.00 topped up to the $50.00 minimum, with the
// minimum's line explained on the invoice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, cli, confirmEffect, launch, newPage, visit, settled, shot, uniqueEmail, signUp, staffFinds } from './helpers.mjs';

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`contracts: a negotiated price with a minimum, given in the console and billed at renewal (${mode})`, async () => {
    const browser = await launch();
    try {
      const customer = await newPage(browser, js);
      const email = uniqueEmail(`contract-${mode}`);
      const org = `Contract Co ${mode}`;
      await signUp(customer.page, js, { email, org });
      await visit(customer.page, '/pricing', js);
      const checkout = customer.page.locator('[data-testid="checkout-pro"]');
      await checkout.locator('input[name="seats"]').fill('3');
      await checkout.locator('button[type="submit"]').click();
      await customer.page.waitForURL(/\/checkout\/cs_/);
      await customer.page.fill('#card_number', '4242424242424242');
      await customer.page.click('#submit');
      await customer.page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });

      // The billing admin gives it: the confirmation shows the terms and the move at renewal.
      const { page, errors } = await newPage(browser, js);
      await staffFinds(page, js, 'admin@demo.test', email);
      assert.match(await page.textContent('[data-testid="contract-summary"]'), /No contract: this customer pays list prices\./);
      const ends = new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10);
      const form = page.locator('[data-testid="give-contract-form"]');
      await form.locator('select[name="price_id"]').selectOption('pro_monthly');
      await form.locator('input[name="amount"]').fill('10.00');
      await form.locator('input[name="minimum"]').fill('50.00');
      await form.locator('input[name="ends_on"]').fill(ends);
      await form.locator('select[name="reason_code"]').selectOption('goodwill');
      await form.locator('input[name="note"]').fill('Signed order form #204');
      await shot(page, `${mode}-98-contract-form`);
      await form.locator('button[type="submit"]').click();
      await page.waitForURL(/\/support\/confirm\?do=give_contract/);
      await settled(page, js);
      const effect = await page.textContent('[data-testid="confirm-effect"]');
      assert.match(effect, new RegExp(`${org} pays \\$10\\.00 per seat every month, at least \\$50\\.00 a period, until .* for Pro, instead of the list price Pro monthly`));
      assert.match(effect, /3 seat\(s\) cost \$30\.00 instead of \$36\.00 a period/);
      await confirmEffect(page, js, `Give ${org} its own Pro price`, new RegExp(`${org} has its own Pro price`), `${mode}-99-contract-confirm`);
      assert.match(await page.textContent('[data-testid="contract-summary"]'), /Pro: \$10\.00 per seat every month, at least \$50\.00 a period, until .* \(given by admin@demo\.test/);
      assertNoErrors(errors);

      // The customer's plan page says when and what.
      await visit(customer.page, '/billing/plan', js);
      assert.match(await customer.page.textContent('[data-testid="price-change"]'), /Your contract price for Pro starts at your renewal on .*: \$30\.00 for 3 seats every month/);
      await shot(customer.page, `${mode}-100-contract-announced`);

      // A month later the renewal bills the contract, topped up to its minimum.
      const clock = cli('test-clock', 'create', '--name', `contract ${mode}`).trim();
      cli('test-clock', 'attach', '--clock', clock, '--org', email);
      cli('test-clock', 'advance', '--clock', clock, '--by', '32d');
      await visit(customer.page, '/billing/invoices', js);
      const newest = customer.page.locator('[data-testid="invoice-row"]').first();
      assert.match(await newest.textContent(), /\$50\.00/);
      await newest.locator('a').first().click();
      await customer.page.waitForURL(/\/billing\/invoices\/inv_/);
      await settled(customer.page, js);
      const invoice = await customer.page.textContent('main');
      assert.match(invoice, /Minimum commitment/);
      assert.match(invoice, /this period's seats and usage came to \$30\.00, so \$20\.00 is added/);
      await shot(customer.page, `${mode}-101-contract-invoice`);
      await visit(customer.page, '/billing/plan', js);
      assert.match(await customer.page.textContent('[data-testid="contract-terms"]'), /Your contract price: \$10\.00 per seat every month, at least \$50\.00 a period/);
      assertNoErrors(customer.errors);
    } finally {
      await browser.close();
    }
  });
}
