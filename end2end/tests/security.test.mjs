// What a stranger can reach: the development mailbox is a page that does not exist for anyone but
// signed-in support staff, hydrated and with JavaScript off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, launch, newPage, visit, shot, staffContext } from './helpers.mjs';

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`an anonymous visitor cannot see the mailbox; support staff can (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      const response = await page.goto(`${process.env.BASE_URL ?? 'http://127.0.0.1:3000'}/dev/mailbox`);
      assert.equal(response.status(), 404);
      await page.waitForLoadState('load');
      assert.equal(await page.textContent('h1'), 'Page not found');
      assert.equal(await page.locator('[data-testid="mailbox"]').count(), 0);
      await shot(page, `${mode}-05-mailbox-anonymous`);
      assertNoErrors(errors.filter((e) => !/404/.test(e)));

      const staff = await staffContext(browser, 'agent@demo.test');
      await visit(staff.page, '/dev/mailbox', false);
      await staff.page.waitForSelector('[data-testid="mailbox"]');
      assert.equal(await staff.page.textContent('h1'), 'Development mailbox');
      await shot(staff.page, `${mode}-06-mailbox-staff`);
      await staff.context.close();
    } finally {
      await browser.close();
    }
  });
}
