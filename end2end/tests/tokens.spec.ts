import { type Page } from '@playwright/test';
import { addSecret, canary, createNamespace, expect, gotoHydrated, record, signIn, test } from './helpers';

/**
 * A token is shown once, right after it is made, and never again: not in the
 * list, not after a reload, not in any other response. Written once, run
 * hydrated and without JavaScript.
 */
async function flow(page: Page, open: (url: string) => Promise<void>, name: string, namespace: string, js: boolean) {
  const bodies: { url: string; body: string }[] = [];
  page.on('response', async (res) => {
    bodies.push({ url: res.url(), body: (await res.body().catch(() => Buffer.alloc(0))).toString('utf8') });
  });
  await open('/admin/tokens');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Namespace', { exact: true }).fill(namespace);
  await page.getByLabel('Expires', { exact: true }).fill('30d');
  await page.getByRole('button', { name: 'Create token' }).click();

  const shown = page.getByTestId('new-token');
  await expect(shown).toHaveValue(/^sr_[A-Za-z0-9_-]{43}$/);
  const token = await shown.inputValue();
  const copy = page.getByRole('button', { name: 'Copy the token' });
  await expect(copy).toBeVisible();
  if (js) {
    await copy.click();
    await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  }
  const row = page.getByRole('table', { name: 'Tokens' }).getByRole('row').filter({ hasText: name });
  await expect(row).toContainText(`${namespace} and below`);
  await expect(row).toContainText('active');

  // Never again: after a reload, on the plain list.
  await page.reload();
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await expect(page.getByRole('status')).toContainText('already shown');
  await open('/admin/tokens');
  await expect(row).toContainText('active');
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  // Exactly one response carried it.
  await page.waitForTimeout(200);
  const carrying = bodies.filter((b) => b.body.includes(token)).map((b) => b.url);
  expect(carrying).toHaveLength(1);
  return { token, row };
}

test('hydrated: a token is shown once, reads within its scope, and stops at revoke', async ({ page, request }) => {
  const value = canary();
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, 'tokenread');
  await addSecret(page, 'tokenread', 'E2E_TOKEN_READ', value);
  const { token, row } = await flow(page, (url) => gotoHydrated(page, url), 'e2e-reader', 'tokenread', true);

  const read = () =>
    request.get('/v1/namespaces/tokenread/secrets/E2E_TOKEN_READ', { headers: { Authorization: `Bearer ${token}` } });
  const ok = await read();
  expect(ok.status()).toBe(200);
  expect((await ok.json()).value).toBe(value);
  await row.getByRole('button', { name: 'Revoke e2e-reader' }).click();
  await expect(row).toContainText('revoked by admin');
  // Back on the list, not on the one-time page: no "already shown" banner.
  await expect(page).toHaveURL(/\/admin\/tokens$/);
  await expect(page.getByText('already shown')).toHaveCount(0);
  expect((await read()).status()).toBe(401);
});

test('without JavaScript: a token is shown once and never again', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  const open = async (url: string) => { await page.goto(url); };
  await signIn(page, 'admin', open);
  await flow(page, open, 'e2e-nojs', 'finance.team', false);
  await flush();
  await context.close();
});

test('hydrated: an AppRole shows its secret id once, logs in, and stops at revoke', async ({ page, request }) => {
  const value = canary();
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, 'approleread');
  await addSecret(page, 'approleread', 'E2E_APPROLE_READ', value);
  await gotoHydrated(page, '/admin/tokens');
  await page.getByLabel('AppRole name', { exact: true }).fill('e2e-deploy');
  await page.getByLabel('AppRole namespace', { exact: true }).fill('approleread');
  await page.getByLabel('Token lifetime', { exact: true }).fill('15m');
  await page.getByRole('button', { name: 'Create AppRole' }).click();

  const shown = page.getByTestId('new-secret-id');
  await expect(shown).toHaveValue(/^srs_[A-Za-z0-9_-]{43}$/);
  const secretId = await shown.inputValue();
  const roleId = await page.locator('#new-role-id').inputValue();
  const row = page.getByRole('table', { name: 'AppRoles' }).getByRole('row').filter({ hasText: 'e2e-deploy' });
  await expect(row).toContainText('15m');
  await page.reload();
  await expect(page.getByTestId('new-secret-id')).toHaveCount(0);
  expect(await page.content()).not.toContain(secretId);

  const login = await request.post('/v1/auth/approle/login', { data: { role_id: roleId, secret_id: secretId } });
  expect(login.status()).toBe(200);
  const token = (await login.json()).auth.client_token as string;
  const read = () =>
    request.get('/v1/namespaces/approleread/secrets/E2E_APPROLE_READ', { headers: { Authorization: `Bearer ${token}` } });
  expect((await (await read()).json()).value).toBe(value);
  await row.getByRole('button', { name: 'Revoke e2e-deploy' }).click();
  await expect(row).toContainText('revoked');
  expect((await read()).status()).toBe(401);
});
