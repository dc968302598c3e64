import { createNamespace, expect, gotoHydrated, signIn, test } from './helpers';

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
