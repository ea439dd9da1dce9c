// Invoices and payment methods in the browser, hydrated and with JavaScript off: save a card that
// will be declined, let a test clock reach the renewal (the CLI moves it, against the server's
// database and Stripe emulator), see the open invoice with its explained lines, download its PDF
// (checked to parse and to carry the total), pay it through the hosted page, then make the other
// card the default and remove the declining one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, assertNoErrors, cli, launch, newPage, visit, settled, shot, uniqueEmail, signUp } from './helpers.mjs';

/**
 * Checks a PDF the way a viewer opens it: header, trailer, and every cross-reference entry
 * pointing at the object it names. Returns the file as text.
 */
function checkPdf(path) {
  const bytes = readFileSync(path);
  const text = bytes.toString('latin1');
  assert.ok(text.startsWith('%PDF-1.'), 'PDF header');
  assert.ok(text.trimEnd().endsWith('%%EOF'), 'PDF trailer');
  const start = Number(text.slice(text.lastIndexOf('startxref') + 9).trim().split(/\s+/)[0]);
  assert.ok(text.startsWith('xref', start), 'startxref points at the cross-reference table');
  const lines = text.slice(start).split(/\r?\n/);
  const [first, count] = lines[1].trim().split(/\s+/).map(Number);
  for (let i = 0; i < count; i++) {
    const entry = lines[2 + i];
    if (!/ n\s*$/.test(entry)) continue;
    const offset = Number(entry.slice(0, 10));
    assert.ok(text.startsWith(`${first + i} 0 obj`, offset), `object ${first + i} is where the table says`);
  }
  return text;
}

async function payOnHostedPage(page, card) {
  await page.waitForURL(/\/checkout\/cs_/);
  await page.fill('#card_number', card);
  await page.click('#submit');
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`invoices, PDF, pay now and payment methods (${mode})`, async () => {
    const browser = await launch();
    try {
      const { context, page, errors } = await newPage(browser, js);
      const email = uniqueEmail(`invoices-${mode}`);
      await signUp(page, js, { email: email, org: `Invoice Co ${mode}` });
      await visit(page, '/pricing', js);
      const form = page.locator('[data-testid="checkout-pro"]');
      await form.locator('input[name="seats"]').fill('2');
      await form.locator('button[type="submit"]').click();
      await payOnHostedPage(page, '4242424242424242');
      await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });

      // Save a card whose charges are declined; as the newest card it becomes the default.
      await visit(page, '/billing/payment-methods', js);
      await page.click('[data-testid="add-card"]');
      await payOnHostedPage(page, '4000000000000341');
      await page.waitForURL(/\/billing\/payment-methods/);
      for (let i = 0; i < 50 && (await page.locator('[data-testid="card"]').count()) < 2; i++) {
        await page.waitForTimeout(200);
        await visit(page, '/billing/payment-methods', js);
      }
      assert.equal(await page.locator('[data-testid="card"]').count(), 2);
      assert.match(await page.textContent('[data-testid="card"]:has([data-testid="default-badge"])'), /ending 0341/);
      await shot(page, `${mode}-50-payment-methods`);

      // A month passes on a test clock: the renewal's charge is declined.
      const clock = cli('test-clock', 'create', '--name', `e2e ${mode}`).trim();
      cli('test-clock', 'attach', '--clock', clock, '--org', email);
      const advanced = cli('test-clock', 'advance', '--clock', clock, '--by', '32d');
      // (A serving instance's own bill run may do the renewal first; either way it happens once.)
      assert.match(advanced, /^test clock clock_\w+ is at /m);

      await visit(page, '/billing', js);
      await page.waitForSelector('[data-testid="past-due"]');
      await visit(page, '/billing/invoices', js);
      const rows = page.locator('[data-testid="invoice-row"]');
      assert.equal(await rows.count(), 2);
      assert.equal((await rows.first().locator('[data-testid="invoice-status"]').textContent()).trim(), 'Open');
      assert.equal((await rows.last().locator('[data-testid="invoice-status"]').textContent()).trim(), 'Paid');
      await shot(page, `${mode}-51-invoice-list`);

      await rows.first().locator('a').first().click();
      await page.waitForURL(/\/billing\/invoices\/inv_/);
      await settled(page, js);
      assert.equal((await page.textContent('[data-testid="invoice-number"]')).trim(), 'Invoice 0002');
      assert.match(await page.textContent('[data-testid="line-explanation"]'), /2 seats × \$12\.00/);
      assert.match(await page.textContent('[data-testid="payment-note"]'), /We will try again on/);
      const totals = await page.textContent('[data-testid="invoice-totals"]');
      assert.match(totals, /Amount due\s*\$24\.00/);
      await shot(page, `${mode}-52-invoice-open`);

      // The PDF downloads, opens as a PDF and carries the same total.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('[data-testid="download-pdf"]'),
      ]);
      const pdf = checkPdf(await download.path());
      assert.ok(pdf.includes('(Invoice 0002)'), 'the PDF names the invoice');
      assert.ok(pdf.includes('($24.00)'), 'the PDF carries the total');

      // Pay now through the hosted page with a good card.
      await page.click('[data-testid="pay-now"]');
      await payOnHostedPage(page, '4242424242424242');
      await page.waitForURL(/\/billing\/invoices\/inv_.*paid=1/);
      for (let i = 0; i < 50; i++) {
        await settled(page, js);
        if ((await page.textContent('[data-testid="invoice-status"]')).trim() === 'Paid') break;
        await page.waitForTimeout(200);
        await page.reload();
      }
      assert.equal((await page.textContent('[data-testid="invoice-status"]')).trim(), 'Paid');
      assert.equal(await page.locator('[data-testid="pay-now"]').count(), 0);
      await shot(page, `${mode}-53-invoice-paid`);

      // The card used to pay is now the default; remove the others down to the last one.
      await visit(page, '/billing/payment-methods', js);
      const defaultCard = page.locator('[data-testid="card"]:has([data-testid="default-badge"])');
      assert.match(await defaultCard.textContent(), /ending 4242/);
      const others = page.locator('[data-testid="card"]:not(:has([data-testid="default-badge"]))');
      while ((await others.count()) > 0) {
        const before = await page.locator('[data-testid="card"]').count();
        await others.first().locator('[data-testid="remove-card"]').click();
        for (let i = 0; i < 50 && (await page.locator('[data-testid="card"]').count()) === before; i++) {
          await page.waitForTimeout(100);
        }
        await settled(page, js);
        assert.equal(await page.locator('[data-testid="card"]').count(), before - 1);
      }
      assert.equal(await page.locator('[data-testid="card"]', { hasText: 'ending 0341' }).count(), 0);
      // The last card stays while the paid plan renews with it.
      await defaultCard.locator('[data-testid="remove-card"]').click();
      await page.waitForSelector('[role="alert"]');
      assert.match(await page.textContent('[role="alert"]'), /only card/);
      assert.equal(await page.locator('[data-testid="card"]').count(), 1);
      await shot(page, `${mode}-54-last-card-kept`);
      assertNoErrors(errors);
      await context.close();
    } finally {
      await browser.close();
    }
  });
}
