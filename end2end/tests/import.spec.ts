import { type Page } from '@playwright/test';
import { canary, expect, gotoHydrated, record, secretRow, signIn, test } from './helpers';

/**
 * Importing a .env file: a names-only preview (adds, rotates, unchanged),
 * then Apply; a bad line is named by its number, never shown. Written once,
 * run hydrated and without JavaScript.
 */
async function flow(page: Page, open: (url: string) => Promise<void>, ns: string) {
  await signIn(page, 'admin', open);
  await open('/');
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(ns);

  const [first, second, changed, third] = [canary(), canary(), canary(), canary()];
  const preview = page.getByRole('region', { name: 'Import preview' });
  const importText = async (text: string) => {
    await open(`/ns/${ns}`);
    await page.getByLabel('.env file', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Preview import' }).click();
  };

  await importText(`# exported\nexport FIRST_KEY="${first}"\nSECOND_KEY='${second}'\n`);
  await expect(preview).toContainText('Read as dotenv.');
  await expect(preview).toContainText('Adds 2: FIRST_KEY, SECOND_KEY');
  await expect(preview).toContainText('Rotates 0');
  expect(await page.content()).not.toContain(first);
  await page.getByRole('button', { name: 'Apply import' }).click();
  await expect(secretRow(page, 'FIRST_KEY')).toContainText('here');
  await expect(secretRow(page, 'SECOND_KEY')).toContainText('here');

  // Kestra's encoded file: base64 values are decoded, and the preview says so.
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await importText(`SECRET_FIRST_KEY=${b64(first)}\nSECRET_SECOND_KEY=${b64(changed)}\nSECRET_THIRD_KEY=${b64(third)}\n`);
  await expect(preview).toContainText('Read as kestra, values decoded from base64.');
  await expect(preview).toContainText('Adds 1: THIRD_KEY');
  await expect(preview).toContainText('Rotates 1: SECOND_KEY');
  await expect(preview).toContainText('Unchanged 1: FIRST_KEY');
  await page.getByRole('button', { name: 'Apply import' }).click();
  await expect(secretRow(page, 'THIRD_KEY')).toContainText('here');
  await expect(secretRow(page, 'SECOND_KEY').getByRole('cell').nth(2)).toHaveText('2');

  // A bad line: its number, not its content; nothing applied.
  const hidden = canary();
  await importText(`GOOD_KEY=${canary()}\nthis line is ${hidden}\n`);
  await expect(page.locator('#import-content-error')).toContainText('line 2');
  expect(await page.content()).not.toContain(hidden);
  await expect(secretRow(page, 'GOOD_KEY')).toHaveCount(0);
}

test('hydrated: import a .env file with a names-only preview', async ({ page }) => {
  await flow(page, (url) => gotoHydrated(page, url), 'imports');
});

test('without JavaScript: the same import works through plain form posts', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  await flow(page, async (url) => { await page.goto(url); }, 'imports-nojs');
  await flush();
  await context.close();
});
