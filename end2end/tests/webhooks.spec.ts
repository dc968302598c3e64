import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { addSecret, canary, createNamespace, expect, gotoHydrated, opener, record, signIn, test } from './helpers';

/**
 * Webhooks from the admin page: add one (its signing secret shown once), a
 * change reaches a real receiver on loopback, signed, names only, and the
 * delivery log says so; a metadata address is refused; remove it.
 * Run hydrated and without JavaScript.
 */
const RUN = crypto.randomBytes(3).toString('hex');

type Got = { headers: http.IncomingHttpHeaders; body: string };

async function receiver(): Promise<{ url: string; got: Got[]; close: () => void }> {
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

function verified(secret: string, header: string, body: string): boolean {
  const parts = header.split(',').map((p) => p.split('=', 2));
  const t = parts.find(([k]) => k === 't')?.[1] ?? '';
  const want = crypto.createHmac('sha256', Buffer.from(secret, 'hex')).update(`${t}.${body}`).digest('hex');
  return parts.some(([k, v]) => k === 'v1' && crypto.timingSafeEqual(Buffer.from(v), Buffer.from(want)));
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'html';
  test(`${js ? 'hydrated' : 'without JavaScript'}: a webhook is added, told of a change, and removed`, async ({ page: admin, browser }) => {
    const hook = await receiver();
    const ns = `finance.hooks-${mode}-${RUN}`;
    const name = `hook-${mode}-${RUN}`;
    const value = canary();
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const flush = record(page);
    const open = opener(page, js);
    await signIn(page, 'admin', open);
    await open('/admin/webhooks');
    // Cloud metadata is never a target.
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('URL', { exact: true }).fill('http://169.254.169.254/latest/meta-data');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await expect(page.locator('#webhook-url-error')).toContainText('link-local');

    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('URL', { exact: true }).fill(hook.url);
    await page.getByLabel('Events', { exact: true }).fill('secret.added');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await page.getByTestId('new-webhook-secret').inputValue();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    await page.reload();
    await expect(page.getByRole('status')).toContainText('already shown');
    const row = page.getByRole('table', { name: 'Webhooks' }).getByRole('row').filter({ hasText: name });
    await expect(row).toContainText(hook.url);

    // The change, made by another admin in a hydrated page.
    await signIn(admin, 'admin', (url) => gotoHydrated(admin, url));
    await createNamespace(admin, ns);
    await addSecret(admin, ns, 'HOOKED', value);
    await expect.poll(() => hook.got.filter((g) => g.body.includes(ns)).length, { timeout: 15_000 }).toBe(1);
    const [got] = hook.got.filter((g) => g.body.includes(ns));
    expect(got.headers['strongroom-event']).toBe('secret.added');
    expect(verified(secret, String(got.headers['strongroom-signature']), got.body)).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({ event: 'secret.added', namespace: ns, key: 'HOOKED', version: 1, actor: 'admin' });
    expect(got.body).not.toContain(value);

    await open('/admin/webhooks');
    const delivery = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: `${ns}/HOOKED` });
    await expect(delivery).toContainText('delivered');
    await expect(delivery).toContainText(String(got.headers['strongroom-delivery']));
    await page.getByRole('button', { name: `Remove webhook ${name}` }).click();
    await expect(page.getByRole('table', { name: 'Webhooks' }).getByRole('row').filter({ hasText: name })).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);
    await flush();
    await context.close();
    hook.close();
  });
}
