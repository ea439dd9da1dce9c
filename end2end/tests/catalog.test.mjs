// The catalog control plane in the browser, hydrated and with JavaScript off: a catalog admin adds
// plan "Scale" (a graduated seat price in EUR and USD, a usage price on a new meter, and
// entitlements) in the console's draft, sees what publishing changes, and publishes it; a new
// customer finds it on the pricing page with the features the catalog implies, checks out in EUR
// and pays exactly what the tiers make; a second version of the seat price is then sold to new
// customers while the first customer keeps the version they bought, until a migration to it is
// previewed, asked for, approved by an approver, and made at the next renewal, whose invoice bills
// the new price.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, cli, launch, newPage, publishDraft, visit, settled, shot, uniqueEmail, signUp, staffSignIn } from './helpers.mjs';

function scale(mode, firstTier) {
  return `
[[meters]]
id = "gpu_minutes_${mode}"
name = "GPU minutes"
aggregation = "sum"
unit_label = "minute"

[[plans]]
id = "scale_${mode}"
name = "Scale ${mode}"
description = "For companies training models."
notes = ["Dedicated support"]

[[plans.prices]]
id = "scale_${mode}_eur"
nickname = "Scale monthly (EUR)"
currency = "EUR"
interval = { unit = "month", count = 1 }
model = { type = "graduated", tiers = [{ from = 1, up_to = 10, unit_amount = "${firstTier}" }, { from = 11, unit_amount = "2000" }] }
unit_label = "seat"
min_quantity = 1

[[plans.prices]]
id = "scale_${mode}_usd"
nickname = "Scale monthly (USD)"
currency = "USD"
interval = { unit = "month", count = 1 }
model = { type = "graduated", tiers = [{ from = 1, up_to = 10, unit_amount = "3300" }, { from = 11, unit_amount = "2200" }] }
unit_label = "seat"
min_quantity = 1

[[plans.usage_prices]]
id = "scale_${mode}_gpu"
meter = "gpu_minutes_${mode}"
nickname = "Scale GPU minutes"
currency = "EUR"
model = { type = "included_then_overage", included = 500, base_amount = 0, overage_unit_amount = "5" }
unit_label = "minute"

[[plans.entitlements]]
key = "seats"
limit = "unlimited"

[[plans.entitlements]]
key = "gpu_minutes"
limit = 500
meter = "gpu_minutes_${mode}"

[[plans.entitlements]]
key = "sso"
name = "SSO"
feature = true
`;
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`catalog: publish a plan in the console, buy it, version its price (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await staffSignIn(page, js, 'catalog@demo.test');
      await page.waitForSelector('[data-testid="published-catalog"]');
      const published = await page.inputValue('[data-testid="draft-body"]');
      assert.match(published, /\[\[plans\]\]\nid = "pro"/);

      // A draft with a problem is refused with the problem named where it is; nothing is sold.
      await page.fill('[data-testid="draft-body"]', published + scale(mode, '3000').replace('min_quantity = 1\n\n[[plans.prices]]', 'min_quantity = 0\nmax_quantity = -1\n\n[[plans.prices]]'));
      await page.click('[data-testid="draft-save"]');
      await page.waitForURL(/\/support\/catalog\?notice=Draft/);
      await settled(page, js);
      const problems = await page.textContent('[data-testid="draft-problems"]');
      assert.match(problems, new RegExp(`plan "scale_${mode}" › price "scale_${mode}_eur": "max_quantity" is -1; quantities must not be negative`));
      assert.equal(await page.locator('[data-testid="draft-publish"]').count(), 0);
      await shot(page, `${mode}-90-catalog-problems`);

      const notice = await publishDraft(page, js, published + scale(mode, '3000'), new RegExp(`\\+ price scale_${mode}_eur on scale_${mode}: graduated per seat: 1–10 at €30\\.00, 11\\+ at €20\\.00 every month`), `${mode}-91-catalog-draft`);
      assert.match(notice, /Published revision \d+ with 8 change\(s\)\./);
      assert.match(await page.textContent(`[data-testid="catalog-plan-scale_${mode}"]`), /scale_.*_eur: graduated per seat/);
      assertNoErrors(errors);

      // A new customer sees Scale with the features its entitlements and usage price make.
      const buyer = await newPage(browser, js);
      const buyerEmail = uniqueEmail(`catalog-${mode}`);
      await signUp(buyer.page, js, { email: buyerEmail, org: `Scale buyer ${mode}` });
      await visit(buyer.page, '/pricing', js);
      const card = buyer.page.locator(`[data-testid="plan-scale_${mode}"]`);
      const text = await card.textContent();
      assert.match(text, /€30\.00/);
      assert.match(text, /As many seats as you need/);
      assert.match(text, /500 GPU minutes a month included, then €0\.05 per minute/);
      assert.match(text, /SSO/);
      assert.match(text, /Dedicated support/);
      await shot(buyer.page, `${mode}-92-catalog-pricing`);
      // 12 seats: 10 × €30.00 + 2 × €20.00 = €340.00.
      const form = buyer.page.locator(`[data-testid="checkout-scale_${mode}"]`);
      await form.locator('input[name="seats"]').fill('12');
      await form.locator('button[type="submit"]').click();
      await buyer.page.waitForURL(/\/checkout\/cs_/);
      assert.match(await buyer.page.textContent('body'), /€340\.00/);
      await buyer.page.fill('#card_number', '4242424242424242');
      await buyer.page.click('#submit');
      await buyer.page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
      await visit(buyer.page, '/billing/invoices', js);
      const invoice = await buyer.page.textContent('[data-testid="invoice-row"]');
      assert.match(invoice, /€340\.00/);
      assert.match(invoice, /Paid/);

      // Version 2 of the EUR seat price: new customers see €35.00; the buyer keeps version 1.
      const again = await page.inputValue('[data-testid="draft-body"]');
      const edited = again.replace(/(id = "scale_\w+_eur"[\s\S]*?unit_amount = ")3000(")/, '$13500$2');
      assert.notEqual(edited, again);
      const second = await publishDraft(page, js, edited, new RegExp(`~ price scale_${mode}_eur on scale_${mode}: new version, .*€35\\.00.*current subscribers keep the old version`), `${mode}-93-catalog-version`);
      assert.match(second, /Published revision \d+ with 1 change\(s\)\./);
      await visit(buyer.page, '/pricing', js);
      assert.match(await buyer.page.locator(`[data-testid="plan-scale_${mode}"]`).textContent(), /€35\.00/);
      await visit(buyer.page, '/billing/plan', js);
      const plan = await buyer.page.textContent('main');
      assert.match(plan, new RegExp(`Scale ${mode}`));
      assert.match(plan, /€340\.00/);
      assert.doesNotMatch(plan, new RegExp(`Switch to Scale ${mode}`), 'a newer version of their own price is not offered as a change');
      await shot(buyer.page, `${mode}-94-catalog-subscriber-keeps-v1`);

      // The migration to version 2: previewed with the buyer's amounts now and after, asked for.
      await page.selectOption('[data-testid="migration-preview-form"] select[name="from"]', `scale_${mode}_eur`);
      await page.selectOption('[data-testid="migration-preview-form"] select[name="to"]', `scale_${mode}_eur_v2`);
      await page.click('[data-testid="migration-preview"]');
      await page.waitForURL(/\/support\/catalog\?from=/);
      await settled(page, js);
      const table = await page.textContent('[data-testid="migration-preview-table"]');
      assert.match(table, new RegExp(`Scale buyer ${mode}`));
      assert.match(table, /€340\.00/);
      assert.match(table, /€390\.00/);
      assert.match(await page.textContent('[data-testid="migration-totals"]'), /Recurring in EUR: €340\.00 now, €390\.00 after\./);
      await shot(page, `${mode}-95-catalog-migration-preview`);
      await page.click('[data-testid="migration-request"]');
      await page.waitForURL(/notice=Migration/);
      await settled(page, js);
      assert.match(await page.textContent('[data-testid="notice"]'), /Migration of 1 subscriber\(s\) from scale_\w+_eur to scale_\w+_eur_v2 requested/);

      // An approver approves it; the buyer is told, on the plan page and by email.
      const approver = await newPage(browser, js);
      await staffSignIn(approver.page, js, 'approver@demo.test');
      await visit(approver.page, '/support/catalog', js);
      await approver.page.click('[data-testid="migration-approve"]');
      await approver.page.waitForURL(/notice=Migration\+approved/);
      await settled(approver.page, js);
      assert.match(await approver.page.textContent('[data-testid="notice"]'), /Migration approved: 1 customer\(s\) move/);
      assertNoErrors(approver.errors);
      await approver.context.close();
      await visit(buyer.page, '/billing/plan', js);
      assert.match(await buyer.page.textContent('[data-testid="price-change"]'), /Your plan's price changes at your renewal on .*: €390\.00 for 12 seats every month\./);
      await shot(buyer.page, `${mode}-96-catalog-migration-on-plan-page`);

      // A month passes on a test clock: the renewal bills version 2.
      const clock = cli('test-clock', 'create', '--name', `catalog ${mode}`).trim();
      cli('test-clock', 'attach', '--clock', clock, '--org', buyerEmail);
      cli('test-clock', 'advance', '--clock', clock, '--by', '32d');
      await visit(buyer.page, '/billing/invoices', js);
      const newest = await buyer.page.locator('[data-testid="invoice-row"]').first().textContent();
      assert.match(newest, /€390\.00/);
      await shot(buyer.page, `${mode}-97-catalog-renewed-on-v2`);
      assertNoErrors(buyer.errors);
      await buyer.context.close();
    } finally {
      await browser.close();
    }
  });
}
