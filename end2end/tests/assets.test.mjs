// What the browser downloads: the release build's wasm, JavaScript and CSS are sent precompressed
// (brotli when the browser takes it, else gzip), and the page asks for nothing else that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { BASE, assertNoErrors, launch, newPage, settled, signUp, uniqueEmail, visit } from './helpers.mjs';

/** GET `path` with `Accept-Encoding: encoding`; the answer's status, headers and raw body size. */
function fetchRaw(path, encoding) {
  return new Promise((resolve, reject) => {
    const req = request(`${BASE}${path}`, { headers: { 'Accept-Encoding': encoding } }, (res) => {
      let size = 0;
      res.on('data', (chunk) => { size += chunk.length; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, size }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The built assets a page names (`/pkg/…` wasm, JavaScript and CSS), read from its HTML. */
async function assetsOf(path) {
  const html = await (await fetch(`${BASE}${path}`)).text();
  return [...new Set(html.match(/\/pkg\/[\w.-]+\.(?:wasm|js|css)/g) ?? [])];
}

test('the wasm, JavaScript and CSS have content-hashed names, are sent precompressed and kept for a year', async () => {
  const assets = await assetsOf('/pricing');
  for (const ext of ['css', 'js', 'wasm']) {
    assert.ok(assets.some((p) => new RegExp(`^/pkg/billing-portal\\.[\\w-]{8,}\\.${ext}$`).test(p)), `${ext}: ${assets.join(' ')}`);
  }
  await assertServedPacked(assets);
  // The page's head asks for its island's own split file beside the main wasm.
  const html = await (await fetch(`${BASE}/pricing`)).text();
  const preload = html.match(/<link[^>]*\/pkg\/split_calculator_loader_\d+\.[\w-]+\.wasm[^>]*>/);
  assert.ok(preload && /rel="preload"/.test(preload[0]), preload?.[0] ?? 'no preload of the calculator');
  assert.ok(!/split_seat_change_loader_/.test(html), 'the pricing page preloads only its own island');
  // A page is never cached: it may show account data, and it names the current build's assets.
  assert.equal((await fetchRaw('/pricing', 'identity')).headers['cache-control'], 'no-store');
});

/** Each of `paths` has a content-hashed name, is kept for a year, and is sent precompressed. */
async function assertServedPacked(paths) {
  for (const path of paths) {
    assert.match(path, /^\/pkg\/[\w-]+\.[\w-]{8,}\.(wasm|js|css)$/);
    const plain = await fetchRaw(path, 'identity');
    assert.equal(plain.status, 200, `${path} identity`);
    assert.equal(plain.headers['content-encoding'], undefined, `${path} identity`);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable', path);
    for (const encoding of ['br', 'gzip']) {
      const packed = await fetchRaw(path, encoding);
      assert.equal(packed.status, 200, `${path} ${encoding}`);
      assert.equal(packed.headers['content-encoding'], encoding, `${path} ${encoding}`);
      // (A chunk of a few kilobytes compresses less; the big files to under half.)
      assert.ok(packed.size < plain.size, `${path} ${encoding}: ${packed.size} of ${plain.size} bytes`);
      if (plain.size > 16384) assert.ok(packed.size < plain.size / 2, `${path} ${encoding}: ${packed.size} of ${plain.size} bytes`);
    }
  }
}

test('a page without islands loads no script; the pricing page loads the islands and answers in place', async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser, true);
    await signUp(page, true, { email: uniqueEmail('assets'), org: 'Assets Co' });
    const requested = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));

    // The invoice list is server-rendered forms and links: no wasm, no JavaScript.
    await visit(page, '/billing/invoices', true);
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator('leptos-island').count(), 0);
    assert.deepEqual(requested.filter((p) => /\.(wasm|js)$/.test(p)), []);

    // The pricing page's calculator is an island: the bundle loads and prices as one types.
    requested.length = 0;
    await visit(page, '/pricing', true);
    await page.fill('[data-testid="calc-seats"]', '7');
    await page.waitForFunction(() => document.querySelector('[data-testid="calc-total"]')?.textContent === '$84.00');
    // The main wasm and the calculator's own split file with its chunks, each hashed and packed.
    const fetched = [...new Set(requested.filter((p) => p.startsWith('/pkg/')))];
    assert.ok(fetched.some((p) => /^\/pkg\/billing-portal\.[\w-]+\.wasm$/.test(p)), fetched.join(' '));
    assert.ok(fetched.some((p) => /^\/pkg\/split_calculator_loader_\d+\.[\w-]+\.wasm$/.test(p)), fetched.join(' '));
    await assertServedPacked(fetched);
    assertNoErrors(errors);

    // The console's search and the plan page's seat preview are other islands: the pricing page
    // did not load their files.
    assert.ok(!fetched.some((p) => /split_(search_as_you_type|seat_change|api_keys)/.test(p)), fetched.join(' '));

    // A first visit (nothing cached): what it transfers, and when the calculator first answers.
    const first = await newPage(browser, true);
    await first.page.goto(`${BASE}/pricing`);
    await first.page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await first.page.fill('[data-testid="calc-seats"]', '7');
    await first.page.waitForFunction(() => document.querySelector('[data-testid="calc-total"]')?.textContent === '$84.00');
    const answered = await first.page.evaluate(() => performance.now());
    await first.page.waitForLoadState('networkidle');
    const transferred = await first.page.evaluate(() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
      .map((entry) => `${new URL(entry.name).pathname}=${entry.transferSize}`));
    const total = transferred.reduce((sum, entry) => sum + Number(entry.split('=').pop()), 0);
    console.log(`pricing, first visit: ${total} bytes transferred (${transferred.join(', ')}); the calculator answered a changed quantity ${Math.round(answered)} ms after navigation start`);
    assertNoErrors(first.errors);
    assertNoErrors(errors);
  } finally {
    await browser.close();
  }
});
