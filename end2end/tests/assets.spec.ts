import { expect, gotoHydrated, test } from './helpers';

// scripts/e2e.sh runs the release binary copied alone into an empty directory:
// every asset here comes from inside the binary.
test('the binary alone serves a styled, hydrated page, its assets compressed and revalidated', async ({ page, request }) => {
  await gotoHydrated(page, '/login');
  const rules = await page.evaluate(() =>
    [...document.styleSheets].filter((s) => s.href?.endsWith('/pkg/strongroom.css')).map((s) => s.cssRules.length),
  );
  expect(rules.length).toBe(1);
  expect(rules[0]).toBeGreaterThan(10);

  const assets: [string, string][] = [
    ['/pkg/strongroom_bg.wasm', 'application/wasm'],
    ['/pkg/strongroom.js', 'javascript'],
    ['/pkg/strongroom.css', 'text/css'],
    ['/favicon.svg', 'image/svg+xml'],
  ];
  for (const [path, type] of assets) {
    const first = await request.get(path, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(first.status(), path).toBe(200);
    expect(first.headers()['content-type'], path).toContain(type);
    if (path.startsWith('/pkg/')) expect(first.headers()['content-encoding'], path).toBe('br');
    const etag = first.headers()['etag'];
    expect(etag, path).toBeTruthy();
    const gzip = await request.get(path, { headers: { 'accept-encoding': 'gzip' } });
    if (path.startsWith('/pkg/')) expect(gzip.headers()['content-encoding'], path).toBe('gzip');
    expect(await gzip.body(), path).toEqual(await first.body()); // the same file, decoded
    const again = await request.get(path, { headers: { 'accept-encoding': 'gzip, br', 'if-none-match': etag } });
    expect(again.status(), path).toBe(304);
    expect((await again.body()).length, path).toBe(0);
  }
  // Pages are compressed on the fly.
  const html = await request.get('/login', { headers: { 'accept-encoding': 'br' } });
  expect(html.headers()['content-encoding']).toBe('br');

  // A second visit: the browser revalidates, and no asset body crosses the wire again.
  const bodies: Promise<number>[] = [];
  page.on('requestfinished', (r) => {
    if (new URL(r.url()).pathname.startsWith('/pkg/')) bodies.push(r.sizes().then((s) => s.responseBodySize));
  });
  await gotoHydrated(page, '/login');
  expect((await Promise.all(bodies)).reduce((a, b) => a + b, 0)).toBe(0);
});
