// The support console in the browser, hydrated and with JavaScript off: a billing admin finds a
// paying customer by email, refunds part of an invoice with a reason and a note, and sees the
// refund on the customer's timeline and in the audit log; an agent finds the same customer but
// has no refund form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO_PASSWORD, assertNoErrors, launch, newPage, visit, settled, shot, uniqueEmail } from './helpers.mjs';

async function payingCustomer(browser, js, email) {
  const { context, page } = await newPage(browser, js);
  await visit(page, '/sign-up', js);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'correct horse battery');
  await page.fill('input[name="org_name"]', `Console Co ${js ? 'js' : 'nojs'}`);
  await page.click('main button[type="submit"]');
  await page.waitForURL(`${BASE}/billing`);
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

async function staffFinds(page, js, staffEmail, customerEmail) {
  await visit(page, '/support/sign-in', js);
  await page.fill('input[name="email"]', staffEmail);
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.click('main button[type="submit"]');
  await page.waitForURL(`${BASE}/support`);
  await settled(page, js);
  if (js) {
    // Results as you type.
    await page.locator('[data-testid="search-input"]').pressSequentially(customerEmail.slice(0, 18));
  } else {
    await page.fill('[data-testid="search-input"]', customerEmail);
    await page.click('form[role="search"] button[type="submit"]');
    await page.waitForLoadState('load');
  }
  await page.waitForSelector('[data-testid="search-results"] a');
  await shot(page, `${js ? 'js' : 'nojs'}-70-console-search`);
  await page.locator('[data-testid="search-results"] a').first().click();
  await page.waitForURL(/\/support\/customers\/org_/);
  await settled(page, js);
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
      if (js) {
        await page.waitForSelector('[data-testid="refund-result"]');
        assert.match(await page.textContent('[data-testid="refund-result"]'), /Refunded \$5\.00 on invoice 0001/);
      } else {
        await page.waitForLoadState('load');
      }
      await visit(page, new URL(page.url()).pathname, js);
      const timeline = await page.textContent('[data-testid="timeline"]');
      assert.match(timeline, /refund by admin@demo\.test: Late delivery of the invoice/);
      assert.match(timeline, /Credit note CN-0001 for \$5\.00 \(refund\)/);
      // Account credit with a reason and a note.
      const credit = page.locator('[data-testid="credit-form"]');
      await credit.locator('input[name="amount"]').fill('3.00');
      await credit.locator('select[name="reason_code"]').selectOption('goodwill');
      await credit.locator('input[name="note"]').fill('Thanks for your patience');
      await credit.locator('button[type="submit"]').click();
      if (js) {
        await page.waitForFunction(() => /Added \$3\.00 of account credit/.test(document.querySelector('[data-testid="refund-result"]')?.textContent ?? ''));
      } else {
        await page.waitForLoadState('load');
      }
      await visit(page, new URL(page.url()).pathname, js);
      assert.match(await page.textContent('main'), /ACCOUNT CREDIT\s*\$3\.00|Account credit\s*\$3\.00/i);
      await shot(page, `${mode}-71-console-customer`);
      await visit(page, `${new URL(page.url()).pathname}?kind=staff`, js);
      assert.equal(await page.locator('[data-testid="timeline"] li').count(), 2);
      await shot(page, `${mode}-72-console-timeline-staff`);

      await visit(page, '/support/audit', js);
      const audit = await page.textContent('[data-testid="audit-log"]');
      assert.match(audit, /admin@demo\.test \(billing_admin\)/);
      assert.match(audit, /\$5\.00/);
      await shot(page, `${mode}-73-console-audit`);
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
      assert.equal(await agent.page.textContent('[data-testid="current-plan"]'), 'Pro');
      await shot(agent.page, `${mode}-74-view-as-customer`);
      assertNoErrors(agent.errors);
    } finally {
      await browser.close();
    }
  });
}
