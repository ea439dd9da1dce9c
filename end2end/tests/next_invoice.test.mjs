// What a change leaves for the next invoice, in the browser, hydrated and with JavaScript off: a
// catalog admin publishes plan "Flex" whose seat increases are billed on the next invoice; its
// customer adds seats and the page says nothing is due now and what the next invoice adds; a
// second version of the price is migrated "on the date" (asked for by the catalog admin, approved
// by an approver); the customer's plan page announces the date; a test clock passes the date and
// the renewal, and the renewal invoice bills the new price with both changes' credit and charge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, cli, launch, newPage, publishDraft, visit, settled, shot, uniqueEmail, signUp, staffSignIn } from './helpers.mjs';

function flex(mode, unitAmount) {
  return `
[[plans]]
id = "flex_${mode}"
name = "Flex ${mode}"
description = "Pay for seats as you add them."
policies = { seat_increase = "prorate_on_next_invoice" }

[[plans.prices]]
id = "flex_${mode}_monthly"
nickname = "Flex monthly"
currency = "USD"
interval = { unit = "month", count = 1 }
model = { type = "per_unit", unit_amount = "${unitAmount}" }
unit_label = "seat"
min_quantity = 1
`;
}

// The day after tomorrow (UTC), as a date field takes it.
function inTwoDays() {
  return new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`next invoice: seats billed at renewal, a migration on a date (${mode})`, async () => {
    const browser = await launch();
    try {
      const admin = await newPage(browser, js);
      await staffSignIn(admin.page, js, 'catalog@demo.test');
      await admin.page.waitForSelector('[data-testid="published-catalog"]');
      const published = await admin.page.inputValue('[data-testid="draft-body"]');
      await publishDraft(admin.page, js, published + flex(mode, '1000'), new RegExp(`\\+ price flex_${mode}_monthly on flex_${mode}`));

      // A customer buys Flex × 2.
      const buyer = await newPage(browser, js);
      const buyerEmail = uniqueEmail(`flex-${mode}`);
      await signUp(buyer.page, js, { email: buyerEmail, org: `Flex buyer ${mode}` });
      await visit(buyer.page, '/pricing', js);
      const form = buyer.page.locator(`[data-testid="checkout-flex_${mode}"]`);
      await form.locator('input[name="seats"]').fill('2');
      await form.locator('button[type="submit"]').click();
      await buyer.page.waitForURL(/\/checkout\/cs_/);
      await buyer.page.fill('#card_number', '4242424242424242');
      await buyer.page.click('#submit');
      await buyer.page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });

      // Two more seats: nothing due now; the preview says what the next invoice adds.
      await visit(buyer.page, '/billing/plan', js);
      await buyer.page.fill('[data-testid="seat-input"]', '4');
      if (!js) { await buyer.page.click('#seats form[method="get"] button'); await settled(buyer.page, js); }
      await buyer.page.waitForSelector('[data-testid="confirm-seats"]:has-text("Confirm 4 seat(s)")');
      assert.equal((await buyer.page.textContent('#seats [data-testid="due-now"]')).trim(), '$0.00');
      const later = (await buyer.page.textContent('#seats [data-testid="next-invoice"]')).trim();
      assert.match(later, /^\$\d+\.\d\d$/);
      await shot(buyer.page, `${mode}-120-next-invoice-preview`);
      await buyer.page.locator('#seats').locator('button[type="submit"]').last().click();
      if (js) await buyer.page.waitForTimeout(300);
      await buyer.page.waitForLoadState('load');
      await settled(buyer.page, js);
      await buyer.page.waitForFunction(() => /4 seats/.test(document.querySelector('[data-testid="current-plan-detail"]')?.textContent ?? ''));
      assert.match(await buyer.page.textContent('[data-testid="notice"]'), new RegExp(`^Done\\. Nothing is charged now: the difference for the rest of this period \\(\\${later}\\) is on your next invoice, on `));
      await visit(buyer.page, '/billing/invoices', js);
      assert.equal(await buyer.page.locator('[data-testid="invoice-row"]').count(), 1, 'only the checkout was invoiced');

      // Version 2 at $12.00 a seat, migrated on a date two days from now.
      await visit(admin.page, '/support/catalog', js);
      const again = await admin.page.inputValue('[data-testid="draft-body"]');
      const edited = again.replace(new RegExp(`(id = "flex_${mode}_monthly"[\\s\\S]*?unit_amount = ")1000(")`), '$11200$2');
      assert.notEqual(edited, again);
      await publishDraft(admin.page, js, edited, new RegExp(`~ price flex_${mode}_monthly on flex_${mode}: new version`));
      await admin.page.selectOption('[data-testid="migration-preview-form"] select[name="from"]', `flex_${mode}_monthly`);
      await admin.page.selectOption('[data-testid="migration-preview-form"] select[name="to"]', `flex_${mode}_monthly_v2`);
      await admin.page.click('[data-testid="migration-preview"]');
      await admin.page.waitForURL(/\/support\/catalog\?from=/);
      await settled(admin.page, js);
      assert.match(await admin.page.textContent('[data-testid="migration-totals"]'), /Recurring in USD: \$40\.00 now, \$48\.00 after\./);
      const day = inTwoDays();
      await admin.page.selectOption('[data-testid="migration-when"]', 'date');
      await admin.page.fill('[data-testid="migration-request-form"] input[name="not_before"]', day);
      await shot(admin.page, `${mode}-121-migration-on-a-date`);
      await admin.page.click('[data-testid="migration-request"]');
      await admin.page.waitForURL(/notice=Migration/);
      await settled(admin.page, js);
      assert.match(await admin.page.textContent('[data-testid="notice"]'), new RegExp(`Migration of 1 subscriber\\(s\\) from flex_${mode}_monthly to flex_${mode}_monthly_v2 requested`));
      assert.match(await admin.page.textContent('[data-testid="migration-list"]'), /prorated · asked by catalog@demo\.test/);
      assertNoErrors(admin.errors);

      const approver = await newPage(browser, js);
      await staffSignIn(approver.page, js, 'approver@demo.test');
      await visit(approver.page, '/support/catalog', js);
      await approver.page.click('[data-testid="migration-approve"]');
      await approver.page.waitForURL(/notice=Migration\+approved/);
      await settled(approver.page, js);
      assert.match(await approver.page.textContent('[data-testid="notice"]'), new RegExp(`Migration approved: 1 customer\\(s\\) move from flex_${mode}_monthly to flex_${mode}_monthly_v2 on .*, prorated`));
      assertNoErrors(approver.errors);
      await approver.context.close();

      // The customer reads the date on the plan page.
      await visit(buyer.page, '/billing/plan', js);
      const change = await buyer.page.textContent('[data-testid="price-change"]');
      assert.match(change, /^Your plan's price changes on .*: \$48\.00 for 4 seats every month\. The rest of this period from then is credited at the old price and charged at the new one on your invoice of /);
      await shot(buyer.page, `${mode}-122-migration-date-on-plan-page`);

      // A test clock passes the date and the renewal: the invoice bills 4 × $12.00, then the
      // seat change's credit and charge, then the migration's.
      const clock = cli('test-clock', 'create', '--name', `flex ${mode}`).trim();
      cli('test-clock', 'attach', '--clock', clock, '--org', buyerEmail);
      cli('test-clock', 'advance', '--clock', clock, '--by', '32d');
      await visit(buyer.page, '/billing/invoices', js);
      await buyer.page.locator('[data-testid="invoice-row"] a').first().click();
      await buyer.page.waitForURL(/\/billing\/invoices\/inv_/);
      await settled(buyer.page, js);
      const lines = await buyer.page.textContent('[data-testid="invoice-lines"]');
      assert.match(lines, /\$48\.00/);
      assert.equal((lines.match(/Unused time on Flex monthly/g) ?? []).length, 2, lines);
      assert.equal((lines.match(/Remaining time on Flex monthly/g) ?? []).length, 2, lines);
      await shot(buyer.page, `${mode}-123-renewal-with-next-invoice-lines`);
      assertNoErrors(buyer.errors);
      await buyer.context.close();
    } finally {
      await browser.close();
    }
  });
}
