// The support console in the browser, hydrated and with JavaScript off: a billing admin finds a
// paying customer by email, refunds part of an invoice with a reason and a note after checking its
// exact effect on the confirmation page, changes the plan on the customer's behalf, and sees it
// all on the customer's timeline and in the filtered audit log and its CSV export; an agent finds
// the same customer but has no refund form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO_PASSWORD, assertNoErrors, confirmEffect, launch, newPage, visit, settled, shot, uniqueEmail, signUp, staffFinds, staffSignIn } from './helpers.mjs';

async function payingCustomer(browser, js, email) {
  const { context, page } = await newPage(browser, js);
  await signUp(page, js, { email: email, org: `Console Co ${js ? 'js' : 'nojs'}` });
  await visit(page, '/pricing', js);
  const form = page.locator('[data-testid="checkout-pro"]');
  await form.locator('input[name="seats"]').fill('2');
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/checkout\/cs_/);
  await page.fill('#card_number', '4242424242424242');
  await page.click('#submit');
  await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
  await context.close();
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`support console: search, refund with a reason, timeline, audit log (${mode})`, async () => {
    const browser = await launch();
    try {
      const email = uniqueEmail(`console-${mode}`);
      await payingCustomer(browser, js, email);

      const { page, errors } = await newPage(browser, js);
      await staffFinds(page, js, 'admin@demo.test', email);
      assert.match(await page.textContent('[data-testid="customer-plan"]'), /Pro · 2 seat\(s\) · active/);
      const form = page.locator('[data-testid="refund-0001"]');
      await form.locator('input[name="amount"]').fill('5.00');
      await form.locator('select[name="reason_code"]').selectOption('goodwill');
      await form.locator('input[name="note"]').fill('Late delivery of the invoice');
      await form.locator('button[type="submit"]').click();
      await page.waitForURL(/\/support\/confirm\?do=refund/);
      await settled(page, js);
      const effect = await page.textContent('[data-testid="confirm-effect"]');
      assert.match(effect, /Stripe returns \$5\.00 to the card that paid invoice 0001/);
      assert.match(effect, /Still refundable on the invoice: \$24\.00 now, \$19\.00 after\./);
      await confirmEffect(page, js, 'Refund $5.00 on invoice 0001', /Refunded \$5\.00 on invoice 0001/, `${mode}-70b-console-confirm-refund`);
      const customerPath = new URL(page.url()).pathname;
      await visit(page, customerPath, js);
      const timeline = await page.textContent('[data-testid="timeline"]');
      assert.match(timeline, /refund by admin@demo\.test: Late delivery of the invoice/);
      assert.match(timeline, /Credit note CN-0001 for \$5\.00 \(refund\)/);
      // Account credit with a reason and a note.
      const credit = page.locator('[data-testid="credit-form"]');
      await credit.locator('input[name="amount"]').fill('3.00');
      await credit.locator('select[name="reason_code"]').selectOption('goodwill');
      await credit.locator('input[name="note"]').fill('Thanks for your patience');
      await credit.locator('button[type="submit"]').click();
      await confirmEffect(page, js, `Add $3.00 of account credit for Console Co ${mode}`, /Added \$3\.00 of account credit/);
      assert.match(await page.textContent('main'), /ACCOUNT CREDIT\s*\$3\.00|Account credit\s*\$3\.00/i);
      // A plan change on the customer's behalf, through the portal's own preview and charge.
      const change = page.locator('[data-testid="change-plan-form"]');
      await change.locator('select[name="price_id"]').selectOption('team_monthly');
      await change.locator('input[name="seats"]').fill('3');
      await change.locator('select[name="reason_code"]').selectOption('customer_request');
      await change.locator('input[name="note"]').fill('Asked by phone to move the team up');
      await change.locator('button[type="submit"]').click();
      await page.waitForURL(/\/support\/confirm\?do=change_plan/);
      await settled(page, js);
      assert.match(await page.textContent('[data-testid="confirm-effect"]'), /is charged now to the customer's default card/);
      await confirmEffect(page, js, 'Change the plan from Pro × 2 to Team × 3', /Plan changed: Pro × 2 → Team × 3/, `${mode}-70c-console-confirm-plan`);
      assert.match(await page.textContent('[data-testid="customer-plan"]'), /Team · 3 seat\(s\) · active/);
      await shot(page, `${mode}-71-console-customer`);
      await visit(page, `${customerPath}?kind=staff`, js);
      assert.equal(await page.locator('[data-testid="timeline"] li').count(), 3);
      await shot(page, `${mode}-72-console-timeline-staff`);

      await visit(page, '/support/audit', js);
      const audit = await page.textContent('[data-testid="audit-log"]');
      assert.match(audit, /admin@demo\.test \(billing_admin\)/);
      assert.match(audit, /system \(system\)/);
      assert.match(audit, /\$5\.00/);
      // Filtered to refunds (a GET form, so the filtered view is a link), then exported.
      const filters = page.locator('[data-testid="audit-filters"]');
      await filters.locator('select[name="action"]').selectOption('refund');
      await filters.locator('input[name="actor"]').fill('admin@demo.test');
      await filters.locator('button[type="submit"]').click();
      await page.waitForURL(/\/support\/audit\?.*action=refund/);
      await settled(page, js);
      await page.waitForFunction(() => /^\d+ entr/.test(document.querySelector('[data-testid="audit-count"]')?.textContent ?? ''));
      const rows = page.locator('[data-testid="audit-log"] tbody tr');
      const count = await rows.count();
      assert.ok(count >= 1);
      for (let i = 0; i < count; i++) assert.match(await rows.nth(i).textContent(), /refund/);
      await shot(page, `${mode}-73-console-audit`);
      const href = await page.getAttribute('[data-testid="audit-export"]', 'href');
      assert.match(href, /^\/support\/audit\.csv\?.*action=refund/);
      const csv = await page.request.get(`${BASE}${href}`);
      assert.equal(csv.status(), 200);
      const lines = (await csv.text()).trim().split('\r\n');
      assert.equal(lines[0], 'seq,at_utc,actor,role,action,target,org_id,amount_minor,currency,reason,note,request_id');
      assert.equal(lines.length, count + 1);
      assert.ok(lines.some((l) => /,admin@demo\.test,billing_admin,refund,.*,500,USD,goodwill,Late delivery of the invoice,form:/.test(l)), lines.join('\n'));
      assertNoErrors(errors);

      // An agent reads the same customer but cannot refund.
      const agent = await newPage(browser, js);
      await staffFinds(agent.page, js, 'agent@demo.test', email);
      assert.equal(await agent.page.locator('[data-testid^="refund-0"]').count(), 0);
      // View as the customer: the portal as they see it, under a read-only banner.
      await agent.page.click('[data-testid="view-as"]');
      await agent.page.waitForURL(`${BASE}/billing`);
      await settled(agent.page, js);
      await agent.page.waitForSelector('[data-testid="viewing-banner"]');
      assert.match(await agent.page.textContent('[data-testid="viewing-banner"]'), /read-only\. Signed in to support as agent@demo\.test/);
      assert.equal(await agent.page.textContent('[data-testid="current-plan"]'), 'Team');
      await shot(agent.page, `${mode}-74-view-as-customer`);
      assertNoErrors(agent.errors);
    } finally {
      await browser.close();
    }
  });
}
