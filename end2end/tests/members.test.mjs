// Adding a seat by inviting a member, who accepts the emailed link in a second browser, hydrated
// and with JavaScript off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, assertNoErrors, launch, mailboxLink, newPage, visit, settled, shot, uniqueEmail, signUp } from './helpers.mjs';

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`invite a member past the seats; they accept in another browser (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await signUp(page, js, { email: uniqueEmail(`owner-${mode}`), org: `Seats Co ${mode}` });
      await visit(page, '/pricing', js);
      const form = page.locator('[data-testid="checkout-pro"]');
      await form.locator('input[name="seats"]').fill('1');
      await form.locator('button[type="submit"]').click();
      await page.waitForURL(/\/checkout\/cs_/);
      await page.fill('#card_number', '4242424242424242');
      await page.click('#submit');
      await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });

      await visit(page, '/billing/members', js);
      assert.equal(await page.textContent('[data-testid="seat-usage"]'), '1 of 1 seat(s) in use');
      const button = await page.textContent('[data-testid="invite-submit"]');
      assert.match(button, /^Add a seat \(\$\d+\.\d\d now\) and invite$/);
      const invitee = uniqueEmail(`member-${mode}`);
      await page.fill('input[name="email"]', invitee);
      await page.selectOption('select[name="role"]', 'member');
      await shot(page, `${mode}-40-members-invite`);
      await page.click('[data-testid="invite-submit"]');
      await page.waitForSelector('[data-testid="pending-invitation"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="seat-usage"]')?.textContent === '2 of 2 seat(s) in use');
      await shot(page, `${mode}-41-members-invited`);

      // The emailed link, from the development mailbox (which support staff read).
      const link = await mailboxLink(browser, invitee, /\/invite\/[0-9a-f]{64}$/, `${mode}-42-mailbox`);

      // The invitee, in a browser of their own.
      const second = await newPage(browser, js);
      await second.page.goto(link);
      await settled(second.page, js);
      assert.match(await second.page.textContent('[data-testid="invitation-summary"]'), new RegExp(`as member, with ${invitee.replace(/[.+]/g, '\\$&')}`));
      await second.page.fill('input[name="password"]', 'a long passphrase for the invitee');
      await shot(second.page, `${mode}-43-invitation`);
      await second.page.click('main button[type="submit"]');
      await second.page.waitForURL(`${BASE}/billing`);
      await settled(second.page, js);
      assert.equal(await second.page.textContent('[data-testid="org-name"]'), `Seats Co ${mode}`);
      assert.equal(await second.page.textContent('[data-testid="role"]'), 'Member');
      await shot(second.page, `${mode}-44-member-billing`);

      await visit(page, '/billing/members', js);
      assert.match(await page.textContent('[data-testid="members"]'), new RegExp(invitee.replace(/[.+]/g, '\\$&')));
      assert.equal(await page.locator('[data-testid="pending-invitation"]').count(), 0);
      assertNoErrors(errors);
      assertNoErrors(second.errors);
    } finally {
      await browser.close();
    }
  });
}
