import { type Page } from '@playwright/test';
import { canary, expect, gotoHydrated, record, secretRow, signIn, test, openAction } from './helpers';

/** Many secrets at once, through the same server function the add form posts to. */
async function seed(page: Page, ns: string, count: number) {
  const post = (endpoint: string, form: Record<string, string>) =>
    page.request.post(`/api/${endpoint}`, { form }).then((r) => expect(r.status(), endpoint).toBe(200));
  await post('namespaces/create', { namespace: ns, description: '' });
  for (let i = 0; i < count; i++) {
    const key = `KEY_${String(i).padStart(2, '0')}`;
    const tags = i === 7 ? 'env=prod team=web' : 'env=dev';
    await post('secrets/add', { namespace: ns, key, value: canary(), description: '', tags });
  }
}

async function flow(page: Page, open: (url: string) => Promise<void>, ns: string) {
  await signIn(page, 'admin', open);
  await seed(page, ns, 55);

  // 55 secrets: the first page holds 50, the next the rest; the links need no JavaScript.
  await open(`/ns/${ns}`);
  const rows = page.getByRole('table', { name: 'Effective secrets' }).locator('tbody tr');
  await expect(rows).toHaveCount(50);
  const pages = page.getByRole('navigation', { name: 'Secret pages' });
  await expect(pages).toContainText('1–50 of 55 secrets');
  await pages.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/page=1/);
  await expect(rows).toHaveCount(5);
  await expect(pages).toContainText('51–55 of 55 secrets');

  // The filter box: a tag, then a word; the filter is in the URL.
  await page.getByLabel('Filter', { exact: true }).fill('env=prod');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(page).toHaveURL(/q=env%3Dprod|q=env=prod/);
  await expect(rows).toHaveCount(1);
  await expect(secretRow(page, 'KEY_07')).toContainText('team=web');
  await page.getByLabel('Filter', { exact: true }).fill('key_4');
  await page.getByLabel('Status', { exact: true }).selectOption('own');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(rows).toHaveCount(10);
  await expect(pages).toContainText('10 matching (55 in all)');
  await pages.getByRole('link', { name: 'Clear filter' }).click();
  await expect(rows).toHaveCount(50);

  // Tags when adding, and refused with the field named when malformed.
  await page.getByLabel('Key', { exact: true }).fill('WEBHOOK_SECRET');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Tags', { exact: true }).fill('Owner=web');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('#add-tags-error')).toContainText('Tag name "Owner"');
  await page.getByLabel('Key', { exact: true }).fill('WEBHOOK_SECRET');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Tags', { exact: true }).fill('owner=web');
  const added = page.waitForResponse((r) => r.url().includes('/api/secrets/add') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Add secret' }).click();
  expect((await added).status()).toBeLessThan(400);
  await open(`/ns/${ns}?q=webhook`);
  await expect(secretRow(page, 'WEBHOOK_SECRET')).toContainText('owner=web');

  // Edited on the secret's page.
  await open(`/ns/${ns}/WEBHOOK_SECRET`);
  await expect(page.getByTestId('tags')).toContainText('owner=web');
  await openAction(page, 'Edit description and tags');
  await page.getByLabel('Tags', { exact: true }).fill('owner=web rotation=manual');
  await page.getByRole('button', { name: 'Save tags' }).click();
  await expect(page.getByTestId('tags')).toContainText('rotation=manual');

  // Search by name from the home page.
  await open('/');
  await page.getByLabel('Find a namespace or key', { exact: true }).fill('webhook_sec');
  await page.getByRole('button', { name: 'Search' }).click();
  const found = page.getByRole('list', { name: 'Secrets found' });
  // (Both flows share a server: each finds its own namespace's secret among the results.)
  const hit = found.getByRole('listitem').filter({ hasText: `in ${ns}` });
  await expect(hit.getByRole('link', { name: 'WEBHOOK_SECRET' })).toHaveAttribute('href', `/ns/${ns}/WEBHOOK_SECRET`);

  // The trail's refusals alone: the malformed tag above is one of them.
  await open('/audit');
  await page.getByLabel('Outcome', { exact: true }).selectOption('refused');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(page).toHaveURL(/outcome=refused/);
  const entries = page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr');
  await expect(entries.filter({ hasText: 'WEBHOOK_SECRET' }).first()).toContainText('refused');
  expect(await entries.count()).toBe(await page.locator('tbody tr.refused').count());
}

test('hydrated: pages and filter box of a large namespace, tags, search, refusals on the trail', async ({ page }) => {
  await flow(page, (url) => gotoHydrated(page, url), 'catalog.js');
});

test('without JavaScript: the same, through links, GET forms and plain posts', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  await flow(page, async (url) => { await page.goto(url); }, 'catalog.nojs');
  await flush();
  await context.close();
});

test('hydrated: after a failed submit the keyboard focus is on the field to fix', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await gotoHydrated(page, '/');
  await page.getByLabel('Namespace', { exact: true }).fill('Not Valid');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await expect(page.locator('#create-namespace-error')).toBeVisible();
  await expect(page.locator('#create-namespace')).toBeFocused();
  await expect(page.locator('#create-namespace')).toHaveAttribute('aria-invalid', 'true');
});

test('without JavaScript: after a refused post the focus is on the message saying what to fix', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, 'admin', async (url) => { await page.goto(url); });
  await page.goto('/');
  await page.getByLabel('Namespace', { exact: true }).fill('Not Valid');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await expect(page.locator('#create-namespace-error')).toBeFocused();
  await context.close();
});
