import { createNamespace, expect, gotoHydrated, signIn, test } from './helpers';

test('hydrated: an admin changes a namespace description, then deletes the empty namespace', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, 'scratch.gone');
  await gotoHydrated(page, '/ns/scratch.gone');
  await page.getByLabel('New description', { exact: true }).fill('Soon gone');
  await page.getByRole('button', { name: 'Set description' }).click();
  await expect(page.getByText('Soon gone')).toBeVisible();
  // Its parent is not empty: refused, and the reason is on the parent's page.
  await gotoHydrated(page, '/ns/scratch');
  await page.getByRole('button', { name: 'Delete namespace' }).click();
  await expect(page.getByRole('alert')).toContainText('1 child namespaces');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('scratch');
  await gotoHydrated(page, '/ns/scratch.gone');
  await page.getByRole('button', { name: 'Delete namespace' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('link', { name: 'scratch.gone', exact: true })).toHaveCount(0);
  // Its parent still has no secrets but a child no more: it can go too, and its page says so first.
  await gotoHydrated(page, '/ns/scratch');
  await expect(page.getByRole('button', { name: 'Delete namespace' })).toBeVisible();
});
