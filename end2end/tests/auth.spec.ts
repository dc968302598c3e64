import { type Page } from '@playwright/test';
import { addSecret, canary, createNamespace, expect, gotoHydrated, PASSWORD, secretRow, signIn, test, rotate } from './helpers';

const hydrated = (page: Page) => (url: string) => gotoHydrated(page, url);

test('signed out, every page leads to the sign-in form', async ({ page }) => {
  for (const path of ['/', '/ns/finance', '/admin/users', '/account']) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/login\?next=/);
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  }
});

test('a wrong password is refused with one message for every cause', async ({ page }) => {
  await gotoHydrated(page, '/login');
  for (const [user, password] of [['editor', 'not the password at all'], ['nobody-here', PASSWORD]]) {
    await page.getByLabel('Username', { exact: true }).fill(user);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid username or password.');
  }
});

test('an editor adds a secret; an auditor sees names and versions but no forms', async ({ browser }) => {
  const editorContext = await browser.newContext();
  const editor = await editorContext.newPage();
  await signIn(editor, 'editor', hydrated(editor));
  await createNamespace(editor, 'finance');
  await addSecret(editor, 'finance', 'API_KEY', canary());
  await gotoHydrated(editor, '/ns/finance/API_KEY');
  await rotate(editor, canary());
  await expect(editor.getByTestId('current-version')).toHaveText('2');
  // Outside the editor's grant, a namespace does not exist.
  await editor.goto('/ns/company');
  await expect(editor.getByRole('alert')).toContainText('Namespace not found');
  await editorContext.close();

  const auditorContext = await browser.newContext();
  const auditor = await auditorContext.newPage();
  await signIn(auditor, 'auditor', hydrated(auditor));
  await gotoHydrated(auditor, '/');
  await expect(auditor.getByRole('link', { name: 'finance', exact: true })).toBeVisible();
  await expect(auditor.getByRole('button', { name: 'Create namespace' })).toHaveCount(0);
  await gotoHydrated(auditor, '/ns/finance');
  await expect(secretRow(auditor, 'API_KEY')).toBeVisible();
  await expect(auditor.getByRole('button', { name: 'Add secret' })).toHaveCount(0);
  await gotoHydrated(auditor, '/ns/finance/API_KEY');
  await expect(auditor.getByRole('table', { name: 'Versions' }).getByRole('row')).toHaveCount(3);
  for (const name of ['Rotate', 'Delete', 'Restore version 1']) {
    await expect(auditor.getByRole('button', { name })).toHaveCount(0);
    await expect(auditor.getByRole('link', { name })).toHaveCount(0);
  }
  await expect(auditor.locator('details')).toHaveCount(0);
  // Hiding a button is not access control: a forced call is refused.
  const status = await auditor.evaluate(async () => {
    const body = new URLSearchParams({ namespace: 'finance', key: 'API_KEY', value: 'forced-by-auditor' });
    const res = await fetch('/api/secrets/rotate', { method: 'POST', body });
    return res.status;
  });
  expect(status).toBe(403);
  await auditor.reload();
  await expect(auditor.getByTestId('current-version')).toHaveText('2');

  // Sign out: the session is over.
  await gotoHydrated(auditor, '/');
  await auditor.getByRole('button', { name: 'Sign out' }).click();
  await expect(auditor).toHaveURL(/\/login/);
  await auditor.goto('/ns/finance');
  await expect(auditor).toHaveURL(/\/login\?next=/);
  await auditorContext.close();
});

test('no page reports a Content-Security-Policy violation', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(msg.text())) violations.push(msg.text());
  });
  page.on('pageerror', (err) => violations.push(String(err)));
  await gotoHydrated(page, '/login');
  await signIn(page, 'admin', hydrated(page));
  for (const path of ['/', '/ns/finance', '/ns/finance/API_KEY', '/account', '/admin/users', '/audit', '/no/such/page']) {
    await gotoHydrated(page, path);
    const csp = (await page.request.get(path)).headers()['content-security-policy'];
    expect(csp, path).toMatch(/script-src 'nonce-[^']+'/);
  }
  expect(violations).toEqual([]);
});
