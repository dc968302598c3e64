import { type Page } from '@playwright/test';
import path from 'node:path';
import { canary, expect, gotoHydrated, secretRow, signIn, test, openAction, rotate } from './helpers';

/**
 * The README's tour: screenshots of the main pages with demo data (values
 * from `canary()`, so the scan proves none of them shows anywhere).
 *
 * Runs first, on a server with nothing in it yet (its own project in
 * playwright.config.ts), so that the pictures show only this data. The
 * pictures go to docs/tour/ with UPDATE_TOUR=1 (`UPDATE_TOUR=1 scripts/e2e.sh
 * BINARY`), else to this test's output folder: a plain run leaves the
 * committed ones alone (their dates would change at every run).
 */
const TOUR = process.env.UPDATE_TOUR === '1' ? path.resolve('..', 'docs', 'tour') : null;

async function shoot(page: Page, name: string) {
  // Nothing focused, no caret: the same picture every time but for dates.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const file = TOUR ? path.join(TOUR, `${name}.png`) : test.info().outputPath(`${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
}

async function createNamespace(page: Page, ns: string, description: string) {
  await gotoHydrated(page, '/');
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(ns);
}

async function addSecret(page: Page, ns: string, key: string, description: string, tags: string) {
  await gotoHydrated(page, `/ns/${ns}`);
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByLabel('Tags', { exact: true }).fill(tags);
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, key)).toContainText('here');
}

async function createToken(page: Page, name: string, ns: string, expires: string) {
  await gotoHydrated(page, '/admin/tokens');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByLabel('Expires', { exact: true }).fill(expires);
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token')).toBeVisible();
}

test('the tour: sign-in, namespaces, a namespace, a secret, the audit trail and tokens', async ({ page }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await gotoHydrated(page, '/login');
  await shoot(page, 'login');

  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  for (const [ns, description] of [
    ['northwind', 'Shared by every service'],
    ['northwind.payments', 'Checkout, billing and refunds'],
    ['northwind.analytics', 'Warehouse and dashboards'],
    ['northwind.platform', 'CI, deploys and monitoring'],
    ['northwind.platform.ci', 'Build runners'],
  ]) {
    await createNamespace(page, ns, description);
  }
  for (const [ns, key, description, tags] of [
    ['northwind', 'DB_PASSWORD', 'Primary Postgres, app role', 'owner=platform'],
    ['northwind', 'SENTRY_DSN', 'Error reporting', ''],
    ['northwind.payments', 'STRIPE_KEY', 'Live secret key', 'env=prod owner=payments'],
    ['northwind.payments', 'STRIPE_WEBHOOK_SECRET', 'Signs webhook calls', 'env=prod owner=payments'],
    ['northwind.payments', 'DB_PASSWORD', 'Payments database', 'owner=payments'],
    ['northwind.analytics', 'WAREHOUSE_PASSWORD', 'Read-only reporting user', ''],
    ['northwind.platform', 'SLACK_WEBHOOK_URL', 'Deploy notices', ''],
    ['northwind.platform.ci', 'REGISTRY_TOKEN', 'Pushes images', 'env=ci'],
  ]) {
    await addSecret(page, ns, key, description, tags);
  }

  // STRIPE_KEY: rotated twice, then every 90 days.
  await gotoHydrated(page, '/ns/northwind.payments/STRIPE_KEY');
  for (const version of ['2', '3']) {
    await rotate(page, canary());
    await expect(page.getByTestId('current-version')).toHaveText(version);
  }
  await openAction(page, 'Rotation policy');
  await page.getByLabel('Every (days)', { exact: true }).fill('90');
  await page.getByRole('button', { name: 'Set rotation' }).click();
  await expect(page.getByTestId('rotation')).toContainText('every 90 days — next by');

  await createToken(page, 'kestra-prod', 'northwind.payments', '90d');
  await createToken(page, 'ci-deploy', 'northwind.platform', '30d');
  await createToken(page, 'old-laptop', 'northwind', '7d');
  const row = page.getByRole('table', { name: 'Tokens' }).getByRole('row').filter({ hasText: 'old-laptop' });
  await row.getByRole('button', { name: 'Revoke old-laptop' }).click();
  await expect(row).toContainText('revoked by admin');

  await gotoHydrated(page, '/');
  await shoot(page, 'home');

  await gotoHydrated(page, '/ns/northwind.payments');
  await expect(secretRow(page, 'SENTRY_DSN').getByRole('cell').nth(1)).toHaveText('northwind');
  await expect(secretRow(page, 'DB_PASSWORD')).toContainText('here · overrides northwind');
  await shoot(page, 'namespace');

  await gotoHydrated(page, '/?q=stripe');
  await expect(page.getByRole('list', { name: 'Secrets found' })).toContainText('STRIPE_WEBHOOK_SECRET');
  await shoot(page, 'search');

  await gotoHydrated(page, '/ns/northwind.payments/STRIPE_KEY');
  await expect(page.getByRole('table', { name: 'Versions' }).getByRole('row')).toHaveCount(4); // header + 3
  await shoot(page, 'secret');

  await gotoHydrated(page, '/audit?namespace=northwind');
  await expect(page.getByRole('table', { name: 'Audit entries' })).toContainText('secret.rotate');
  await shoot(page, 'audit');

  await gotoHydrated(page, '/admin/tokens');
  await expect(page.getByRole('table', { name: 'Tokens' })).toContainText('kestra-prod');
  await shoot(page, 'tokens');

  // A new token: shown once, with snippets ready to paste.
  await page.getByLabel('Name', { exact: true }).fill('prefect-etl');
  await page.getByLabel('Namespace', { exact: true }).fill('northwind.platform');
  await page.getByLabel('Expires', { exact: true }).fill('90d');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token')).toBeVisible();
  await shoot(page, 'token-new');

  await gotoHydrated(page, '/admin/users');
  await expect(page.getByRole('table', { name: 'Users' })).toContainText('admin');
  await shoot(page, 'users');

  await page.setViewportSize({ width: 390, height: 844 });
  await gotoHydrated(page, '/ns/northwind.payments');
  await shoot(page, 'namespace-phone');
});
