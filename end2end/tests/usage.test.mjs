// Usage-based billing in the browser: a Pro customer creates an API key on the usage page (shown
// once), sends build-minute events with it to the HTTP API, and sees the usage, its charges and
// the daily chart update; the same page renders with JavaScript off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, assertNoErrors, launch, newPage, visit, shot, uniqueEmail, signUp } from './helpers.mjs';

async function subscribeToPro(page, email) {
  await signUp(page, true, { email: email, org: 'Usage Co' });
  await visit(page, '/pricing', true);
  const form = page.locator('[data-testid="checkout-pro"]');
  await form.locator('input[name="seats"]').fill('2');
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/checkout\/cs_/);
  await page.fill('#card_number', '4242424242424242');
  await page.click('#submit');
  await page.waitForSelector('[data-testid="checkout-active"]', { timeout: 20000 });
}

test('usage: an API key, events through the API, the dashboard and chart update', async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser, true);
    await subscribeToPro(page, uniqueEmail('usage'));
    await visit(page, '/billing', true);
    await page.click('[data-testid="usage-link"]');
    await page.waitForURL(`${BASE}/billing/usage`);
    await visit(page, '/billing/usage', true);
    assert.equal(await page.textContent('[data-testid="meter-build_minutes"] [data-testid="meter-quantity"]'), '0 minutes');
    assert.equal(await page.textContent('[data-testid="usage-so-far"]'), '$0.00');
    const org = (await page.textContent('[data-testid="customer-id"]')).trim();
    assert.match(org, /^org_/);

    // A key, shown once.
    const create = page.locator('[data-testid="create-key-form"]');
    await create.locator('input[name="name"]').fill('CI pipeline');
    await create.locator('button[type="submit"]').click();
    await page.waitForSelector('[data-testid="new-key-secret"]');
    const secret = (await page.textContent('[data-testid="new-key-secret"]')).trim();
    assert.match(secret, /^bpk_[A-Za-z0-9]{32}$/);
    assert.match(await page.textContent('[data-testid="api-keys"]'), /CI pipeline/);
    await shot(page, 'js-80-usage-key');

    // Events through the HTTP API with that key: 1,500 build minutes (one sent twice).
    const now = Math.floor(Date.now() / 1000);
    const events = [
      { id: 'build-1', customer: org, meter: 'build_minutes', quantity: 900, timestamp: now, properties: { repo: 'api' } },
      { id: 'build-2', customer: org, meter: 'build_minutes', quantity: 600, timestamp: now, properties: { repo: 'web' } },
      { id: 'build-1', customer: org, meter: 'build_minutes', quantity: 900, timestamp: now },
      { id: 'call-1', customer: org, meter: 'api_calls', timestamp: now },
      { id: 'bad-1', customer: org, meter: 'no_such_meter', timestamp: now },
    ];
    const response = await page.request.post(`${BASE}/api/v1/usage-events`, {
      headers: { authorization: `Bearer ${secret}` },
      data: { events },
    });
    assert.equal(response.status(), 200);
    const result = await response.json();
    assert.deepEqual([result.accepted, result.duplicates, result.rejected], [3, 1, 1]);
    assert.equal(result.results[4].reason, 'there is no meter "no_such_meter"');

    // The page shows them: 500 minutes over the 1,000 included at 0.8¢ = $4.00, and the chart's
    // bars add up to 1,500.
    await visit(page, '/billing/usage?meter=build_minutes', true);
    assert.equal(await page.textContent('[data-testid="meter-build_minutes"] [data-testid="meter-quantity"]'), '1,500 minutes');
    assert.equal(await page.textContent('[data-testid="usage-so-far"]'), '$4.00');
    const bars = await page.locator('[data-testid="chart-bar"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
    assert.equal(bars.reduce((a, b) => a + b, 0), 1500);
    assert.match(await page.getAttribute('[data-testid="usage-chart"]', 'aria-label'), /1500 minutes so far/);
    await shot(page, 'js-81-usage-dashboard');

    // Entitlements for the product's services, with the same key.
    const ent = await (await page.request.get(`${BASE}/api/v1/customers/${org}/entitlements`, { headers: { authorization: `Bearer ${secret}` } })).json();
    assert.deepEqual(ent.limits.build_minutes, { limit: 1000, used: 1500, remaining: 0, allowed: true, meter: 'build_minutes' });
    assertNoErrors(errors);

    // The same page without JavaScript: rendered on the server, chart included.
    const nojs = await newPage(browser, false);
    await nojs.context.addCookies(await page.context().cookies());
    await visit(nojs.page, '/billing/usage', false);
    assert.equal(await nojs.page.textContent('[data-testid="meter-build_minutes"] [data-testid="meter-quantity"]'), '1,500 minutes');
    assert.ok((await nojs.page.locator('[data-testid="chart-bar"]').count()) >= 1);
    await shot(nojs.page, 'nojs-82-usage-dashboard');

    // A spend alert and revoking the key, as plain posts: each comes back with its notice.
    const alert = nojs.page.locator('[data-testid="alert-form"]');
    await alert.locator('input[name="amount"]').fill('abc');
    await alert.locator('button[type="submit"]').click();
    await nojs.page.waitForSelector('[data-testid="form-error"]');
    assert.match(await nojs.page.textContent('[data-testid="form-error"]'), /Enter an amount above zero in USD/);
    await nojs.page.locator('[data-testid="alert-form"] input[name="amount"]').fill('50.00');
    await nojs.page.locator('[data-testid="alert-form"] button[type="submit"]').click();
    await nojs.page.waitForSelector('[data-testid="notice"]');
    assert.equal(await nojs.page.locator('[data-testid="form-error"]').count(), 0);
    assert.equal(await nojs.page.inputValue('[data-testid="alert-form"] input[name="amount"]'), '50.00');
    await nojs.page.locator('[data-testid="api-keys"] button[type="submit"]').first().click();
    await nojs.page.waitForSelector('[data-testid="notice"]:has-text("The key is revoked")');
    assert.match(await nojs.page.textContent('[data-testid="api-keys"]'), /Revoked/);
    const refused = await page.request.get(`${BASE}/api/v1/customers/${org}/entitlements`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(refused.status(), 401);
    await shot(nojs.page, 'nojs-83-key-revoked');
  } finally {
    await browser.close();
  }
});
