import { type Page } from '@playwright/test';
import { canary, deleteSecret, expect, gotoHydrated, record, rotate, secretRow, signIn, test } from './helpers';

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
    // The new namespace opens, and says it was made.
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(ns);
    await expect(page.locator('.flash')).toHaveText(`Created ${ns}.`);
    await open('/');
  }

  // Add a secret in the parent: the value field is write-only.
  await open(`/ns/${top}`);
  const value = page.getByLabel('Value', { exact: true });
  await expect(value).toHaveAttribute('autocomplete', 'new-password');
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await value.fill(canary());
  await page.getByLabel('Description', { exact: true }).fill('Primary database');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText('here');
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText('Primary database');
  await expect(page.getByLabel('Value', { exact: true })).toHaveValue('');
  // The answer says what landed, never the value: one line of 31 bytes (a canary).
  await expect(page.locator('.flash')).toHaveText(`Added DB_PASSWORD to ${top}: 1 line, 31 bytes.`);

  // The child inherits it, and says from where.
  await open(`/ns/${team}`);
  await expect(secretRow(page, 'DB_PASSWORD').getByRole('cell').nth(1)).toHaveText(top);

  // Shadow it in the child.
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText(`here · overrides ${top}`);
  await expect(page.locator('.flash')).toContainText(`It overrides ${top}/DB_PASSWORD for ${team} and below.`);

  // Rotate the parent's: version 2, and the field is cleared.
  await open(`/ns/${top}/DB_PASSWORD`);
  await expect(page.getByTestId('current-version')).toHaveText('1');
  await rotate(page, canary());
  await expect(page.getByTestId('current-version')).toHaveText('2');
  await expect(page.locator('.flash')).toHaveText('Rotated DB_PASSWORD to version 2: 1 line, 31 bytes.');
  await expect(page.getByRole('table', { name: 'Versions' }).getByRole('row')).toHaveCount(3); // header + 2
  await expect(page.getByLabel('New value', { exact: true })).toHaveValue('');

  // Delete, after a step that names what stops seeing it (team shadows it: nothing), then restore.
  await page.getByRole('link', { name: 'Delete…' }).click();
  await expect(page.getByRole('heading', { name: `Delete DB_PASSWORD from ${top}?` })).toBeFocused();
  await expect(page.getByText('No namespace below inherits it.')).toBeVisible();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.getByTestId('current-version')).toHaveText('2');
  await deleteSecret(page, 'DB_PASSWORD');
  await expect(page.locator('.banner')).toContainText('Deleted');
  await expect(page.locator('.flash')).toContainText('Deleted DB_PASSWORD');
  await expect(page.locator('summary', { hasText: 'Rotate the value' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Restore', exact: true }).click();
  await expect(page.locator('summary', { hasText: 'Rotate the value' })).toBeVisible();
  await expect(page.locator('.banner')).toHaveCount(0);

  // Restore version 1 without ever seeing it, after one step: it becomes version 3.
  await page.getByRole('link', { name: 'Restore version 1…' }).click();
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await expect(page.getByTestId('current-version')).toHaveText('3');
  await expect(page.getByRole('table', { name: 'Versions' })).toContainText('restored from version 1');

  // A bad key is caught before the round trip: the browser's own check, nothing posted.
  await open(`/ns/${top}`);
  await page.getByLabel('Key', { exact: true }).fill('1-bad key');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();
  expect(await page.getByLabel('Key', { exact: true }).evaluate((el: HTMLInputElement) => el.validity.patternMismatch)).toBe(true);
  await expect(page.getByRole('table', { name: 'Effective secrets' }).getByRole('row')).toHaveCount(2);

  // Adding an existing key says to rotate instead; what was typed comes back, the value does not.
  await page.getByLabel('Key', { exact: true }).fill('DB_PASSWORD');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Description', { exact: true }).fill('typed, kept');
  await page.getByLabel('Tags', { exact: true }).fill('env=prod');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('#add-key-error')).toHaveAttribute('role', 'alert');
  await expect(page.locator('#add-key-error')).toContainText('Rotate it instead');
  await expect(page.getByLabel('Key', { exact: true })).toHaveValue('DB_PASSWORD');
  await expect(page.getByLabel('Description', { exact: true })).toHaveValue('typed, kept');
  await expect(page.getByLabel('Tags', { exact: true })).toHaveValue('env=prod');
  await expect(page.getByLabel('Value', { exact: true })).toHaveValue('');
  await expect(page.locator('#add .cleared')).toContainText('The value you typed was cleared');

  // Several mistakes are reported at once.
  await page.getByLabel('Key', { exact: true }).fill('FRESH_KEY');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Tags', { exact: true }).fill('not-a-tag');
  await page.getByLabel('Description', { exact: true }).fill('x'.repeat(1200));
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('#add-tags-error')).toBeVisible();
  await expect(page.locator('#add-description-error')).toBeVisible();
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
  // No form offers to add to a namespace that is not there.
  await expect(page.getByRole('button', { name: 'Add secret' })).toHaveCount(0);
  await flush();
  await context.close();
});
