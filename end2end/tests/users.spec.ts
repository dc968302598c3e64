import { type Page } from '@playwright/test';
import { expect, gotoHydrated, PASSWORD, signIn, test } from './helpers';

const hydrated = (page: Page) => (url: string) => gotoHydrated(page, url);
const NEW_PASSWORD = 'a fresh password for newbie';

async function signInFails(page: Page, username: string, password: string) {
  await gotoHydrated(page, '/login');
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid username or password.');
}

test('an admin adds a user, grants and revokes a role, disables, enables and resets the password', async ({
  page,
  browser,
}) => {
  await signIn(page, 'admin', hydrated(page));
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users', exact: true })).toBeVisible();
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);

  const add = page.locator('section', { has: page.getByRole('heading', { name: 'Add a user' }) });
  // No role is chosen for you, and an empty namespace is not "every namespace".
  await expect(add.getByLabel('Role', { exact: true })).toHaveValue('');
  await expect(add.getByLabel('Every namespace')).not.toBeChecked();
  // A refused post keeps every choice (and says the password was cleared): it never turns into a global admin.
  await add.getByLabel('Username', { exact: true }).fill('newbie');
  await add.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await add.getByLabel('Role', { exact: true }).selectOption('auditor');
  await add.getByLabel('Every namespace').check();
  await add.getByLabel('Namespace', { exact: true }).fill('finance');
  await add.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('#add-scope-error')).toContainText('not both');
  const again = page.locator('section', { has: page.getByRole('heading', { name: 'Add a user' }) });
  await expect(again.getByLabel('Username', { exact: true })).toHaveValue('newbie');
  await expect(again.getByLabel('Role', { exact: true })).toHaveValue('auditor');
  await expect(again.getByLabel('Namespace', { exact: true })).toHaveValue('finance');
  await expect(again.getByLabel('Every namespace')).toBeChecked();
  await expect(again.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(again.locator('.cleared')).toContainText('The password you typed was cleared');
  await again.getByLabel('Every namespace').uncheck();
  await again.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await again.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('.flash')).toContainText('Added user newbie as auditor on finance and below.');
  const row = page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: 'newbie' });
  await expect(row).toContainText('auditor · finance');

  // One page per user.
  await row.getByRole('link', { name: 'Manage newbie' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('newbie');
  const grants = page.getByRole('list', { name: 'Grants' });
  await page.getByLabel('Role', { exact: true }).selectOption('editor');
  await page.getByLabel('Namespace', { exact: true }).fill('finance.ledgr');
  await page.getByRole('button', { name: 'Grant to newbie' }).click();
  // A namespace that does not exist is granted, with a warning about the spelling.
  await expect(page.locator('.flash')).toContainText('finance.ledgr does not exist yet');
  await expect(grants).toContainText('editor on finance.ledgr');
  // Revoking asks first, in one step.
  await page.getByRole('link', { name: 'Revoke editor on finance.ledgr and below…' }).click();
  await expect(page.getByRole('heading', { name: 'Revoke editor on finance.ledgr from newbie?' })).toBeFocused();
  await page.getByRole('button', { name: 'Revoke editor on finance.ledgr' }).click();
  await expect(page.locator('.flash')).toHaveText('Revoked editor on finance.ledgr and below from newbie.');
  await expect(grants).not.toContainText('finance.ledgr');

  await page.getByRole('button', { name: 'Disable newbie' }).click();
  await expect(page.locator('.flash')).toContainText('Disabled newbie');
  const other = await (await browser.newContext()).newPage();
  await signInFails(other, 'newbie', PASSWORD);
  await page.getByRole('button', { name: 'Enable newbie' }).click();
  await expect(page.locator('.flash')).toHaveText('Enabled newbie.');

  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/users/reset_password') && r.status() < 400),
    page.getByRole('button', { name: 'Reset password of newbie' }).click(),
  ]);
  await signInFails(other, 'newbie', PASSWORD);
  await other.getByLabel('Username', { exact: true }).fill('newbie');
  await other.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByRole('navigation', { name: 'Account' })).toContainText('Signed in as newbie');
  // newbie changes their own password: a wrong current one is refused, then it is done and said.
  await gotoHydrated(other, '/account');
  await other.getByLabel('Current password', { exact: true }).fill(PASSWORD);
  await other.getByLabel('New password', { exact: true }).fill(`${NEW_PASSWORD} again`);
  await other.getByRole('button', { name: 'Change password' }).click();
  await expect(other.getByRole('alert')).toBeVisible();
  await expect(other.getByRole('status')).toHaveCount(0);
  await other.getByLabel('Current password', { exact: true }).fill(NEW_PASSWORD);
  await other.getByLabel('New password', { exact: true }).fill(`${NEW_PASSWORD} again`);
  await other.getByRole('button', { name: 'Change password' }).click();
  await expect(other.getByRole('status')).toHaveText('Password changed. Your other sessions were signed out.');
  await expect(other.getByLabel('New password', { exact: true })).toHaveValue('');
  // Said once: not again on a reload, nor for a made-up link.
  await expect(other).toHaveURL(/\/account\?changed=/);
  await gotoHydrated(other, other.url());
  await expect(other.getByRole('status')).toHaveCount(0);
  await gotoHydrated(other, '/account?changed=made-up');
  await expect(other.getByRole('status')).toHaveCount(0);
  // An auditor is no admin: the users page refuses.
  await gotoHydrated(other, '/admin/users');
  await expect(other.getByRole('alert')).toContainText('You do not have access to this.');
});

test('without JavaScript: a refused add keeps every choice, and a grant is revoked after its step', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const open = async (url: string) => void (await page.goto(url));
  await signIn(page, 'admin', open);
  await open('/admin/users');
  const add = page.locator('section', { has: page.getByRole('heading', { name: 'Add a user' }) });
  await add.getByLabel('Username', { exact: true }).fill('nojs-user');
  await add.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await add.getByLabel('Role', { exact: true }).selectOption('editor');
  await add.getByLabel('Namespace', { exact: true }).fill('finance');
  await add.getByLabel('Every namespace').check();
  await add.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('#add-scope-error')).toContainText('not both');
  await expect(add.getByLabel('Username', { exact: true })).toHaveValue('nojs-user');
  await expect(add.getByLabel('Role', { exact: true })).toHaveValue('editor');
  await expect(add.getByLabel('Every namespace')).toBeChecked();
  await expect(add.getByLabel('Password', { exact: true })).toHaveValue('');
  await add.getByLabel('Every namespace').uncheck();
  await add.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await add.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator('.flash')).toContainText('Added user nojs-user as editor on finance and below.');

  await open('/admin/users/nojs-user');
  await page.getByRole('link', { name: 'Revoke editor on finance and below…' }).click();
  await expect(page.getByRole('heading', { name: 'Revoke editor on finance from nojs-user?' })).toBeVisible();
  await page.getByRole('button', { name: 'Revoke editor on finance' }).click();
  await expect(page.locator('.flash')).toHaveText('Revoked editor on finance and below from nojs-user.');
  await expect(page.getByRole('list', { name: 'Grants' })).not.toContainText('finance');
  await context.close();
});
