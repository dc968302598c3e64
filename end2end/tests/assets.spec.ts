import fs from 'node:fs';
import path from 'node:path';
import { expect, gotoHydrated, STATE, test } from './helpers';

// scripts/e2e.sh runs the release binary copied alone into an empty directory:
// every asset here comes from inside the binary.
test('the binary alone serves a styled, hydrated page; its bundle under hashed names, cached for good', async ({ page, request }) => {
  await gotoHydrated(page, '/login');
  // The page names the bundle by a hash of its files.
  const js = await page.locator('link[rel=modulepreload]').getAttribute('href');
  expect(js).toMatch(/^\/pkg\/strongroom-[0-9a-f]{16}\.js$/);
  const base = js!.replace(/\.js$/, '');
  const rules = await page.evaluate(
    (css) => [...document.styleSheets].filter((s) => s.href?.endsWith(css)).map((s) => s.cssRules.length),
    `${base}.css`,
  );
  expect(rules.length).toBe(1);
  expect(rules[0]).toBeGreaterThan(10);

  const bundle: [string, string][] = [
    [`${base}_bg.wasm`, 'application/wasm'],
    [`${base}.js`, 'javascript'],
    [`${base}.css`, 'text/css'],
  ];
  for (const [path, type] of bundle) {
    const first = await request.get(path, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(first.status(), path).toBe(200);
    expect(first.headers()['content-type'], path).toContain(type);
    expect(first.headers()['content-encoding'], path).toBe('br');
    expect(first.headers()['cache-control'], path).toBe('public, max-age=31536000, immutable');
    const gzip = await request.get(path, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers()['content-encoding'], path).toBe('gzip');
    expect(await gzip.body(), path).toEqual(await first.body()); // the same file, decoded
  }
  // Another hash is not this build's bundle.
  expect((await request.get('/pkg/strongroom-0000000000000000.js')).status()).toBe(404);

  // What has no hashed name is revalidated: a bodiless 304 when unchanged.
  for (const [path, type] of [['/favicon.svg', 'image/svg+xml'], ['/pkg/strongroom.css', 'text/css']]) {
    const first = await request.get(path, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(first.status(), path).toBe(200);
    expect(first.headers()['content-type'], path).toContain(type);
    expect(first.headers()['cache-control'], path).toBe('no-cache');
    const etag = first.headers()['etag'];
    expect(etag, path).toBeTruthy();
    const again = await request.get(path, { headers: { 'accept-encoding': 'gzip, br', 'if-none-match': etag } });
    expect(again.status(), path).toBe(304);
    expect((await again.body()).length, path).toBe(0);
  }
  // Pages are compressed on the fly.
  const html = await request.get('/login', { headers: { 'accept-encoding': 'br' } });
  expect(html.headers()['content-encoding']).toBe('br');

  // A second visit: the bundle comes from the browser's cache (a size of -1:
  // nothing received), not the wire.
  const bodies: Promise<number>[] = [];
  page.on('requestfinished', (r) => {
    if (new URL(r.url()).pathname.startsWith('/pkg/')) bodies.push(r.sizes().then((s) => s.responseBodySize));
  });
  await gotoHydrated(page, '/login');
  const sizes = await Promise.all(bodies);
  expect(sizes.length).toBe(3);
  expect(sizes.filter((n) => n > 0)).toEqual([]);
  // And the server was not asked (tests run one at a time; it logs every request).
  const bundleRequests = () =>
    fs.readFileSync(path.join(STATE, 'server.log'), 'utf8').split('\n').filter((l) => l.includes('path=/pkg/')).length;
  const before = bundleRequests();
  await gotoHydrated(page, '/login');
  expect(bundleRequests()).toBe(before);
});
