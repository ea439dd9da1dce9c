// What the browser downloads: the release build's wasm, JavaScript and CSS are sent precompressed
// (brotli when the browser takes it, else gzip), and the page asks for nothing else that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { BASE } from './helpers.mjs';

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

test('the wasm, JavaScript and CSS are sent precompressed', async () => {
  for (const path of ['/pkg/billing-portal.wasm', '/pkg/billing-portal.js', '/pkg/billing-portal.css']) {
    const plain = await fetchRaw(path, 'identity');
    assert.equal(plain.status, 200, `${path} identity`);
    assert.equal(plain.headers['content-encoding'], undefined, `${path} identity`);
    for (const encoding of ['br', 'gzip']) {
      const packed = await fetchRaw(path, encoding);
      assert.equal(packed.status, 200, `${path} ${encoding}`);
      assert.equal(packed.headers['content-encoding'], encoding, `${path} ${encoding}`);
      assert.ok(packed.size < plain.size / 2, `${path} ${encoding}: ${packed.size} of ${plain.size} bytes`);
    }
  }
});
