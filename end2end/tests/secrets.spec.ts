import { type Page } from '@playwright/test';
import { canary, expect, gotoHydrated, record, secretRow, signIn, test } from './helpers';

/**
 * The foundation flow: namespaces, inheritance, shadowing, rotation, delete and
 * restore, and a field error. Written once, run hydrated and without JavaScript.
 */
async function flow(page: Page, open: (url: string) => Promise<void>, top: string) {
  const team = `${top}.team`;
  await signIn(page, 'admin', open);

  // Create the parent and the child namespace.
  await open('/');
  for (const [ns, description] of [[top, 'The whole company'], [team, 'One team']]) {
    await page.getByLabel('Namespace', { exact: true }).fill(ns);
    await page.getByLabel('Description', { exact: true }).fill(description);
    await page.getByRole('button', { name: 'Create namespace' }).click();
    await expect(page.getByRole('link', { name: ns, exact: true })).toBeVisible();
    await expect(page.getByLabel('Namespace', { exact: true })).toHaveValue('');
  }

  // Add a secret in the parent: the value field is write-only.
  await open(`/ns/${top}`);
  const value = page.getByLabel('Value', { exact: true });
  await expect(value).toHaveAttribute('autocomplete', 'new-password');
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await value.fill(canary());
  await page.getByLabel('Description', { exact: true }).fill('Primary database');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText('own');
  await expect(page.getByLabel('Value', { exact: true })).toHaveValue('');

  // The child inherits it, and says from where.
  await open(`/ns/${team}`);
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText(`inherited from ${top}`);

  // Shadow it in the child.
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText(`own, shadows ${top}`);

  // Rotate the parent's: version 2, and the field is cleared.
  await open(`/ns/${top}/DB_PASSWORD`);
  await expect(page.getByTestId('current-version')).toHaveText('1');
  await page.getByLabel('New value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Rotate' }).click();
  await expect(page.getByTestId('current-version')).toHaveText('2');
  await expect(page.getByRole('table', { name: 'Versions' }).getByRole('row')).toHaveCount(3); // header + 2
  await expect(page.getByLabel('New value', { exact: true })).toHaveValue('');

  // Delete, then restore.
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status')).toContainText('Deleted');
  await expect(page.getByRole('button', { name: 'Rotate' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Restore', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Rotate' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveCount(0);

  // Restore version 1 without ever seeing it: it becomes version 3.
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await expect(page.getByTestId('current-version')).toHaveText('3');
  await expect(page.getByRole('table', { name: 'Versions' })).toContainText('restored from version 1');

  // A bad key: the message sits next to the Key field, and nothing is stored.
  await open(`/ns/${top}`);
  await page.getByLabel('Key', { exact: true }).fill('1-bad key');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('#add-key-error')).toHaveAttribute('role', 'alert');
  await expect(page.locator('#add-key-error')).toContainText('Key must start with a letter');
  await expect(page.getByRole('table', { name: 'Effective secrets' }).getByRole('row')).toHaveCount(2);

  // Adding an existing key says to rotate instead.
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('#add-key-error')).toContainText('Rotate it instead');
}

test('hydrated: namespaces, inheritance, shadowing, rotate, delete and restore', async ({ page }) => {
  await flow(page, (url) => gotoHydrated(page, url), 'company');
});

test('without JavaScript: the same flow works through plain form posts', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  await flow(page, async (url) => { await page.goto(url); }, 'acme');
  await flush();
  await context.close();
});

test('without JavaScript: a rejected post answers with a 4xx status and the form page', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  await signIn(page, 'admin', async (url) => { await page.goto(url); });
  await page.goto('/');
  await page.getByLabel('Namespace', { exact: true }).fill('Not Valid');
  const posted = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  const response = await posted;
  expect(response.status()).toBe(422);
  await expect(page.locator('#create-namespace-error')).toContainText('lowercase');
  await expect(page.getByRole('button', { name: 'Create namespace' })).toBeVisible();

  await page.goto('/ns/does-not-exist');
  await expect(page.getByRole('alert')).toContainText('Namespace not found');
  await page.getByLabel('Key', { exact: true }).fill('TOKEN');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  const missing = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Add secret' }).click();
  expect((await missing).status()).toBe(404);
  await flush();
  await context.close();
});
