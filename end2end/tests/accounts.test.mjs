// Accounts in the browser, once hydrated and once with JavaScript disabled: the pricing page and its
// calculator, sign-up errors, sign up, sign out, sign in, the billing page and the staff console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO_PASSWORD, assertNoErrors, launch, newPage, visit, settled, shot, uniqueEmail, signUp, staffSignIn } from './helpers.mjs';

for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';

  test(`pricing page and calculator (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await visit(page, '/pricing', js);
      for (const plan of ['free', 'pro', 'team']) {
        assert.ok(await page.isVisible(`[data-testid="plan-${plan}"]`), `${plan} card`);
      }
      assert.equal(await page.textContent('[data-testid="plan-pro"] [data-testid="plan-amount"]'), '$12.00');
      assert.equal(await page.textContent('[data-testid="plan-team"] [data-testid="plan-amount"]'), '$25.00');
      await shot(page, `${mode}-01-pricing`);

      await page.click('[data-testid="interval-year"]');
      await settled(page, js);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="plan-pro"] [data-testid="plan-amount"]')?.textContent === '$120.00'
        && document.querySelector('[data-testid="plan-team"] [data-testid="plan-amount"]')?.textContent === '$250.00');

      await page.selectOption('[data-testid="calc-plan"]', 'team');
      await page.fill('[data-testid="calc-seats"]', '2');
      if (!js) { await page.click('#calculator button[type="submit"]'); await settled(page, js); }
      assert.match(await page.textContent('[data-testid="calc-error"]'), /Team needs at least 3 seats/);

      await page.fill('[data-testid="calc-seats"]', '7');
      await page.selectOption('[data-testid="calc-interval"]', 'year');
      if (!js) { await page.click('#calculator button[type="submit"]'); await settled(page, js); }
      // 7 seats × $250.00 a year.
      assert.equal(await page.textContent('[data-testid="calc-total"]'), '$1,750.00');
      await shot(page, `${mode}-02-pricing-calculator`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });

  test(`sign up, sign out, sign in and reach billing (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      const email = uniqueEmail(`e2e-${mode}`);
      const password = 'correct horse battery';

      await visit(page, '/sign-up', js);
      await page.click('button[type="submit"]');
      await page.waitForSelector('[data-testid="form-error"]');
      assert.match(await page.textContent('[data-testid="form-error"]'), /Enter your email address/);
      await shot(page, `${mode}-03-sign-up-error`);

      // The form sends a link to the address; the account exists once it is followed.
      await signUp(page, js, { email, password, org: `Browser Co ${mode}`, screenshots: `${mode}-04-sign-up` });
      assert.equal(await page.textContent('[data-testid="org-name"]'), `Browser Co ${mode}`);
      assert.equal(await page.textContent('[data-testid="role"]'), 'Owner');
      assert.equal(await page.textContent('[data-testid="current-plan"]'), 'No plan yet');
      await shot(page, `${mode}-05-billing`);

      await page.click('header button:has-text("Sign out")');
      await page.waitForURL(`${BASE}/sign-in`);
      await settled(page, js);
      await shot(page, `${mode}-06-signed-out`);

      await visit(page, '/billing', js);
      await page.waitForURL(/\/sign-in\?next=\/billing$/);

      await page.fill('input[name="email"]', email);
      await page.fill('input[name="password"]', 'not the password');
      await page.click('main button[type="submit"]');
      await page.waitForSelector('[data-testid="form-error"]');
      assert.match(await page.textContent('[data-testid="form-error"]'), /do not match an account/);
      await shot(page, `${mode}-07-sign-in-error`);

      await page.fill('input[name="email"]', email);
      await page.fill('input[name="password"]', password);
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${BASE}/billing`);
      await settled(page, js);
      assert.equal(await page.textContent('[data-testid="org-name"]'), `Browser Co ${mode}`);
      await shot(page, `${mode}-08-billing-again`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });

  test(`demo customer and staff console sign-in (${mode})`, async () => {
    const browser = await launch();
    try {
      const { page, errors } = await newPage(browser, js);
      await visit(page, '/sign-in', js);
      await page.fill('input[name="email"]', 'owner@demo.test');
      await page.fill('input[name="password"]', DEMO_PASSWORD);
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${BASE}/billing`);
      await settled(page, js);
      assert.equal(await page.textContent('[data-testid="org-name"]'), 'Demo Corp');

      // The customer's session does not open the console.
      await visit(page, '/support', js);
      await page.waitForURL(`${BASE}/support/sign-in`);
      await settled(page, js);
      await shot(page, `${mode}-09-staff-sign-in`);
      // Password and the authenticator app's code.
      await staffSignIn(page, js, 'agent@demo.test');
      assert.match(await page.textContent('[data-testid="staff-name"]'), /Avery Agent/);
      await shot(page, `${mode}-10-console`);
      assertNoErrors(errors);
    } finally {
      await browser.close();
    }
  });
}
