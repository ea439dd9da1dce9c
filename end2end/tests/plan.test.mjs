// Changing a plan in the browser, hydrated and with JavaScript off: upgrade now (the charge equals
// the preview on the page), schedule a downgrade and undo it, add seats with a live preview,
// cancel with a reason and resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, assertNoErrors, launch, newPage, visit, settled, shot, uniqueEmail, signUp } from './helpers.mjs';

async function subscribe(page, js, tag) {
  await signUp(page, js, { email: uniqueEmail(tag), org: `Plan Co ${tag}` });
  await visit(page, '/pricing', js);
  const form = page.locator('[data-testid="checkout-pro"]');
  await form.locator('input[name="seats"]').fill('2');
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/checkout\/cs_/);
  await page.fill('#card_number', '4242424242424242');
  await page.click('#submit');
  await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
}

async function submitIn(page, js, selector) {
  await page.locator(selector).locator('button[type="submit"]').last().click();
  if (js) await page.waitForTimeout(300);
  await page.waitForLoadState('load');
  await settled(page, js);
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`upgrade, downgrade and undo, seats, cancel and resume (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await subscribe(page, js, `plan-${mode}`);
      await visit(page, '/billing/plan', js);
      assert.match(await page.textContent('[data-testid="current-plan-name"]'), /^Pro · Pro monthly$/);
      await shot(page, `${mode}-30-plan-page`);

      // Upgrade to Team monthly: what the page previews is what is charged.
      const team = '[data-testid="option-team_monthly"]';
      const previewed = (await page.textContent(`${team} [data-testid="due-now"]`)).trim();
      assert.match(previewed, /^\$\d+\.\d\d$/);
      await submitIn(page, js, team);
      await page.waitForFunction(() => /Team/.test(document.querySelector('[data-testid="current-plan-name"]')?.textContent ?? ''));
      // The form came back to the page with its answer, with JavaScript and without.
      assert.equal(await page.textContent('[data-testid="notice"]'), `Done. ${previewed} was charged to your saved card.`);
      await shot(page, `${mode}-31-upgraded`);

      // Downgrade back to Pro: scheduled for renewal, then undone.
      await submitIn(page, js, '[data-testid="option-pro_monthly"]');
      await page.waitForSelector('[data-testid="scheduled-change"]');
      assert.match(await page.textContent('[data-testid="scheduled-change"]'), /Scheduled: Pro with 3 seat\(s\) from/);
      await shot(page, `${mode}-32-downgrade-scheduled`);
      await submitIn(page, js, '[data-testid="scheduled-change"]');
      await page.waitForSelector('[data-testid="scheduled-change"]', { state: 'detached' });
      assert.match(await page.textContent('[data-testid="notice"]'), /The scheduled change is undone/);

      // A notice is signed for this browser and page: changed words show nothing.
      const forged = new URL(page.url());
      forged.searchParams.set('notice', 'Done. $9,999.00 was charged to your saved card.');
      await page.goto(forged.toString());
      await settled(page, js);
      assert.equal(await page.locator('[data-testid="notice"]').count(), 0);

      // Seats: the preview follows the number (live with JavaScript, by Preview without).
      await page.fill('[data-testid="seat-input"]', '5');
      if (!js) { await page.click('#seats form[method="get"] button'); await settled(page, js); }
      await page.waitForSelector('[data-testid="confirm-seats"]:has-text("Confirm 5 seat(s)")');
      const seatDue = (await page.textContent('#seats [data-testid="due-now"]')).trim();
      await shot(page, `${mode}-33-seat-preview`);
      await submitIn(page, js, '#seats');
      await page.waitForFunction(() => /5 seats/.test(document.querySelector('[data-testid="current-plan-detail"]')?.textContent ?? ''));
      assert.equal(await page.textContent('[data-testid="notice"]'), `Done. ${seatDue} was charged to your saved card.`);

      // Cancel needs a reason; then resume.
      await page.selectOption('[data-testid="cancel-reason"]', 'too_expensive');
      await submitIn(page, js, 'section:has([data-testid="cancel-reason"])');
      await page.waitForSelector('[data-testid="cancel-scheduled"]');
      await shot(page, `${mode}-34-cancel-scheduled`);
      await submitIn(page, js, '[data-testid="cancel-scheduled"]');
      await page.waitForSelector('[data-testid="cancel-scheduled"]', { state: 'detached' });
      await shot(page, `${mode}-35-resumed`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });
}
