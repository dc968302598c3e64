import crypto from 'node:crypto';
import { canary, createNamespace, expect, gotoHydrated, opener, record, secretRow, signIn, test } from './helpers';

test('hydrated: an admin changes a namespace description, then deletes the empty namespace', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, 'scratch.gone');
  await gotoHydrated(page, '/ns/scratch.gone');
  await page.getByLabel('Namespace description', { exact: true }).fill('Soon gone');
  await page.getByRole('button', { name: 'Save description' }).click();
  await expect(page.locator('p.description')).toHaveText('Soon gone');
  // The form shows the description in force.
  await expect(page.getByLabel('Namespace description', { exact: true })).toHaveValue('Soon gone');
  // Breadcrumbs name each level: Namespaces › scratch › gone.
  await expect(page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'scratch' })).toBeVisible();
  // Its parent is not empty: the delete button is disabled, saying why.
  await gotoHydrated(page, '/ns/scratch');
  await expect(page.getByRole('button', { name: 'Delete namespace…' })).toBeDisabled();
  await expect(page.locator('#delete-why')).toHaveText('It still has 1 child namespaces.');
  // Even asked for directly, the server refuses and the page says why.
  await gotoHydrated(page, '/ns/scratch?confirm=delete');
  await page.getByRole('button', { name: 'Delete namespace' }).click();
  await expect(page.getByRole('alert')).toContainText('1 child namespaces');
  await gotoHydrated(page, '/ns/scratch.gone');
  await page.getByRole('link', { name: 'Delete namespace…' }).click();
  await expect(page.getByRole('heading', { name: 'Delete the namespace scratch.gone?' })).toBeFocused();
  await page.getByRole('button', { name: 'Delete namespace' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.flash')).toHaveText('Deleted namespace scratch.gone.');
  await expect(page.getByRole('link', { name: 'scratch.gone', exact: true })).toHaveCount(0);
  // Its parent still has no secrets but a child no more: it can go too, and its page says so first.
  await gotoHydrated(page, '/ns/scratch');
  await expect(page.getByRole('link', { name: 'Delete namespace…' })).toBeVisible();
});

for (const js of [true, false]) {
  test(`${js ? 'hydrated' : 'without JavaScript'}: an editor requires keys and the completeness page shows what each namespace lacks`, async ({ browser }) => {
    const ns = `finance.release-${js ? 'js' : 'html'}-${crypto.randomBytes(3).toString('hex')}`;
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const flush = record(page);
    const open = opener(page, js);
    await signIn(page, 'editor', open);
    await open('/');
    await page.getByLabel('Namespace', { exact: true }).fill(`${ns}.api`);
    await page.getByRole('button', { name: 'Create namespace' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `${ns}.api`, exact: true })).toBeVisible();
    await open(`/ns/${ns}`);
    await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
    await page.getByLabel('Value', { exact: true }).fill(canary());
    await page.getByRole('button', { name: 'Add secret' }).click();
    await expect(secretRow(page, 'DB_PASSWORD')).toContainText('here');

    await page.getByLabel('Require keys (here and below)').fill('DB_PASSWORD, SMTP_URL');
    await page.getByRole('button', { name: 'Require', exact: true }).click();
    const required = page.getByRole('table', { name: 'Required keys' });
    await expect(required.getByRole('row').filter({ hasText: 'SMTP_URL' })).toContainText('missing');
    await expect(required.getByRole('row').filter({ hasText: 'DB_PASSWORD' })).toContainText('defined here');

    await page.getByRole('link', { name: 'Completeness of this namespace and those below' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Completeness of ${ns}`);
    await expect(page.getByRole('status')).toHaveText('2 missing, 0 overdue.');
    const matrix = page.getByRole('table', { name: 'Required keys by namespace' });
    const row = (n: string) => matrix.getByRole('row').filter({ has: page.getByRole('rowheader', { name: n, exact: true }) });
    await expect(row(ns)).toContainText('defined here');
    await expect(row(`${ns}.api`)).toContainText(`from ${ns}`);
    await expect(row(`${ns}.api`)).toContainText('missing');

    // The gap is filled below; the parent's requirement then dropped: complete.
    await open(`/ns/${ns}.api`);
    await page.getByLabel('Key', { exact: true }).fill('SMTP_URL');
    await page.getByLabel('Value', { exact: true }).fill(canary());
    await page.getByRole('button', { name: 'Add secret' }).click();
    await expect(secretRow(page, 'SMTP_URL')).toContainText('here');
    await open(`/ns/${ns}`);
    await page.getByRole('button', { name: 'No longer require SMTP_URL here' }).click();
    await expect(required.getByRole('row').filter({ hasText: 'SMTP_URL' })).toHaveCount(0);
    await open(`/completeness/${ns}`);
    await expect(page.getByRole('status')).toHaveText('Complete: every required key is defined and none is overdue.');
    await flush();
    await context.close();
  });
}
