import AxeBuilder from '@axe-core/playwright';
import { type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { canary, expect, gotoHydrated, openAction, PASSWORD, signIn, test } from './helpers';

/**
 * The first hour of a new team: a first run in the browser (its own server,
 * no account, a trial key), and what a newcomer meets on the main one:
 * show/hide and load-from-file for values, shadow marks in an import, the
 * purge confirmation, the token's ready-to-paste snippets, `/` to search.
 */

const STATE = process.env.E2E_STATE ?? '';
const BIN = process.env.E2E_BIN ?? '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A second server with no account and no root key configured (so a trial key). */
async function freshServer(dir: string): Promise<{ url: string; log: string; stop: () => void; child: ChildProcess }> {
  const port = await freePort();
  const log = path.join(dir, 'server.log');
  const env = { ...process.env, STRONGROOM_ADDR: `127.0.0.1:${port}`, STRONGROOM_DATA_DIR: path.join(dir, 'data'), RUST_LOG: 'debug' };
  delete env.STRONGROOM_MASTER_KEY;
  delete env.STRONGROOM_MASTER_KEY_FILE;
  const out = fs.openSync(log, 'w');
  const child = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, log, child, stop: () => child.kill() };
}

for (const js of [true, false]) {
  test(`a first run: /login says no account exists, and the one-time setup link makes the first admin (JavaScript ${js ? 'on' : 'off'})`, async ({ browser }) => {
    const dir = fs.mkdtempSync(path.join(STATE, `first-run-${js ? 'js' : 'nojs'}-`));
    const server = await freshServer(dir);
    try {
      const context = await browser.newContext({ baseURL: server.url, javaScriptEnabled: js });
      const page = await context.newPage();
      const open = async (url: string) => (js ? gotoHydrated(page, url) : void (await page.goto(url)));
      await open('/login');
      const hint = page.locator('section', { has: page.getByRole('heading', { name: 'No account exists yet' }) });
      const dataDir = fs.realpathSync(path.join(dir, 'data'));
      await expect(hint.locator('#first-run-command')).toHaveText(`strongroom user add admin --role admin --data-dir ${dataDir}`);
      const file = path.join(dataDir, 'setup-link');
      await expect(hint).toContainText(file);
      // Both first-run pages pass axe (WCAG 2.1 AA); axe is a script, so with JavaScript on
      // (the HTML is the same either way).
      const axe = async () =>
        js ? (await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()).violations.map((v) => v.id) : [];
      expect(await axe()).toEqual([]);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const link = fs.readFileSync(file, 'utf8').trim();
      expect(link.startsWith(`${server.url}/setup/`)).toBe(true);
      // A bearer credential: its file's path is logged, never the link.
      const token = link.split('/setup/')[1];
      expect(fs.readFileSync(server.log, 'utf8')).toContain(file);
      expect(fs.readFileSync(server.log, 'utf8')).not.toContain(token);

      // A short password is refused; the name stays, the password is said to be cleared.
      await open(`/setup/${token}`);
      await page.getByLabel('Username', { exact: true }).fill('founder');
      await page.getByLabel('Password', { exact: true }).evaluate((el: HTMLInputElement) => el.removeAttribute('minlength'));
      await page.getByLabel('Password', { exact: true }).fill('short');
      await page.getByRole('button', { name: 'Create admin and sign in' }).click();
      await expect(page.locator('#setup-password-error')).toBeVisible();
      await expect(page.getByLabel('Username', { exact: true })).toHaveValue('founder');
      await expect(page.locator('.cleared')).toContainText('The password you typed was cleared');
      expect(await axe()).toEqual([]);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Create admin and sign in' }).click();
      await expect(page.getByRole('navigation', { name: 'Account' })).toContainText('Signed in as founder');
      await expect(page.locator('.flash')).toContainText('Welcome, founder');
      // A trial root key: admins are told, on every page.
      await expect(page.getByRole('note')).toContainText('trial root key');
      // Used up: the file is gone and the link refuses. And the link never reached the log,
      // not even as a request's path.
      expect(fs.existsSync(file)).toBe(false);
      expect(fs.readFileSync(server.log, 'utf8')).toContain('path=/setup/…');
      expect(fs.readFileSync(server.log, 'utf8')).not.toContain(token);
      const stranger = await (await browser.newContext({ baseURL: server.url, javaScriptEnabled: js })).newPage();
      await stranger.goto(`/setup/${token}`);
      await expect(stranger.getByRole('alert')).toContainText('This setup link is not valid');
      await stranger.goto('/login');
      await expect(stranger.getByRole('heading', { name: 'No account exists yet' })).toHaveCount(0);
      await context.close();
    } finally {
      server.stop();
    }
  });
}

/** Adds KEY to NS through the form; returns nothing. */
async function add(page: Page, ns: string, key: string, value: string) {
  await page.goto(`/ns/${ns}`);
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByLabel('Value', { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('.flash')).toContainText(`Added ${key}`);
}

test('the value box shows and hides while typing, and loads a text file but refuses a binary one', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await gotoHydrated(page, '/');
  await page.getByLabel('Namespace', { exact: true }).fill('firsthour.tools');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await gotoHydrated(page, '/ns/firsthour.tools');
  const value = page.getByLabel('Value', { exact: true });
  const masked = () => value.evaluate((el) => getComputedStyle(el).getPropertyValue('-webkit-text-security'));
  expect(await masked()).toBe('disc');
  await page.getByRole('button', { name: 'Show value' }).click();
  expect(await masked()).toBe('none');
  await page.getByRole('button', { name: 'Hide value' }).click();
  expect(await masked()).toBe('disc');

  const key = `-----BEGIN TEST KEY-----\n${canary()}\n-----END TEST KEY-----\n`;
  await page.locator('#add-value-file').setInputFiles({ name: 'id_test', mimeType: 'text/plain', buffer: Buffer.from(key) });
  await expect(value).toHaveValue(key);
  await expect(page.locator('.value-tools')).toContainText(`Loaded id_test: ${key.length} bytes. Not saved yet.`);
  await page.locator('#add-value-file').setInputFiles({ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0xff, 0xfe, 0x00, 0x81]) });
  await expect(page.locator('.value-tools')).toContainText('blob.bin is not UTF-8 text');
  await expect(value).toHaveValue(key);
  await page.getByLabel('Key', { exact: true }).fill('LOADED_KEY');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.locator('.flash')).toHaveText(`Added LOADED_KEY to firsthour.tools: 3 lines, ends with a newline, ${key.length} bytes.`);

  // Without JavaScript the tools stay hidden: the box still takes a paste.
  const nojs = await (await page.context().browser()!.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() })).newPage();
  await nojs.goto('/ns/firsthour.tools');
  await expect(nojs.getByRole('button', { name: 'Show value' })).toBeHidden();
});

for (const js of [true, false]) {
  test(`an import marks keys that will override inherited secrets, and purging asks for the key (JavaScript ${js ? 'on' : 'off'})`, async ({ browser }) => {
    const top = `fh${js ? 'js' : 'nojs'}`;
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const open = async (url: string) => (js ? gotoHydrated(page, url) : void (await page.goto(url)));
    await signIn(page, 'admin', open);
    await open('/');
    await page.getByLabel('Namespace', { exact: true }).fill(`${top}.payments`);
    await page.getByRole('button', { name: 'Create namespace' }).click();
    await add(page, top, 'STRIPE_KEY', canary());

    await open(`/ns/${top}.payments`);
    await page.getByLabel('.env file', { exact: true }).fill(`STRIPE_KEY=${canary()}\nNEW_ONE=${canary()}\n`);
    await page.getByRole('button', { name: 'Preview import' }).click();
    // The preview is a step of its own, focused.
    await expect(page.getByRole('heading', { name: 'Import preview' })).toBeFocused();
    await expect(page.getByRole('list', { name: 'Keys that override inherited secrets' })).toHaveText(
      `STRIPE_KEY — will override ${top}/STRIPE_KEY for ${top}.payments and below`,
    );
    await expect(page.getByRole('button', { name: 'Add secret' })).toHaveCount(0);
    await page.getByRole('button', { name: 'Apply import' }).click();

    // A refused preview says the pasted text was cleared.
    await page.getByLabel('.env file', { exact: true }).fill(`not a line ${canary()}`);
    await page.getByRole('button', { name: 'Preview import' }).click();
    await expect(page.locator('#import-content-error')).toBeVisible();
    await expect(page.getByLabel('.env file', { exact: true })).toHaveValue('');
    await expect(page.locator('#import .cleared')).toContainText('The pasted text was cleared');

    // Deleting names the namespaces that stop seeing the value.
    await open(`/ns/${top}/STRIPE_KEY?confirm=delete`);
    await expect(page.getByRole('list', { name: 'Namespaces that stop seeing it' })).toHaveCount(0); // payments overrides it
    await page.getByRole('button', { name: 'Delete STRIPE_KEY' }).click();
    await page.getByRole('link', { name: 'Purge…' }).click();
    await page.getByLabel('Type STRIPE_KEY to confirm').fill('STRIPE_KEY');
    await page.getByRole('button', { name: 'Purge STRIPE_KEY' }).click();
    await expect(page.locator('.flash')).toContainText('Purged STRIPE_KEY');
    await context.close();
  });
}

test('a new token is the hero of its page, with snippets ready to paste; / goes to search', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await gotoHydrated(page, '/admin/tokens');
  await page.getByLabel('Name', { exact: true }).fill('fh-hero');
  await page.getByLabel('Namespace', { exact: true }).fill('firsthour');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByTestId('new-token').inputValue();
  expect(token.length).toBeGreaterThan(20);
  await expect(page.locator('#snippet-run')).toContainText(`STRONGROOM_TOKEN=${token}`);
  await expect(page.locator('#snippet-run')).toContainText('strongroom run firsthour -- ./your-job');
  await expect(page.locator('#snippet-curl')).toContainText('/v1/namespaces/firsthour/export?format=dotenv');
  await expect(page.locator('#snippet-vault')).toContainText(`VAULT_TOKEN=${token}`);

  await gotoHydrated(page, '/');
  await page.locator('h1').click();
  await page.keyboard.press('/');
  await expect(page.getByLabel('Find a namespace or key', { exact: true })).toBeFocused();
});

test('the trail: a changes-only preset, several actions at once, cells that filter, ISO dates', async ({ page }) => {
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await gotoHydrated(page, '/audit');
  const table = page.getByRole('table', { name: 'Audit entries' });
  await page.getByRole('link', { name: 'changes only' }).click();
  await expect(page).toHaveURL(/action=changes/);
  await expect(table).toBeVisible();
  await expect(table.getByRole('cell', { name: 'sign-in', exact: true })).toHaveCount(0);
  await expect(table.getByRole('link', { name: 'sign-in', exact: true })).toHaveCount(0);

  await page.getByLabel('Action', { exact: true }).selectOption(['secret.add', 'namespace.create']);
  await page.getByRole('button', { name: 'Filter' }).click();
  const actions = await table.locator('tbody tr td:nth-child(3)').allTextContents();
  expect(actions.length).toBeGreaterThan(1);
  expect([...new Set(actions)].sort()).toEqual(['namespace.create', 'secret.add']);

  // Each name is a link to the trail filtered by it.
  await table.locator('tbody tr td:nth-child(2) a', { hasText: 'admin' }).first().click();
  await expect(page).toHaveURL(/actor=admin/);
  await expect(page.getByLabel('Actor', { exact: true })).toHaveValue('admin');
  // Dates in ISO 8601, 24-hour, whatever the browser's locale.
  await expect(page.getByLabel('From (UTC)', { exact: true })).toHaveAttribute('placeholder', '2026-12-06 14:05');
});

test('comforts: dark mode by preference (axe clean), a skip link, due in 30 days, tags that filter, references to copy', async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: 'dark', permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await gotoHydrated(page, '/');
  await page.getByLabel('Namespace', { exact: true }).fill('comforts');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await page.getByLabel('Key', { exact: true }).fill('SOON_DUE');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByLabel('Tags', { exact: true }).fill('env=prod');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await page.getByLabel('Key', { exact: true }).fill('OTHER');
  await page.getByLabel('Value', { exact: true }).fill(canary());
  await page.getByRole('button', { name: 'Add secret' }).click();

  // A tag filters the list when clicked.
  await page.getByRole('link', { name: 'env=prod' }).click();
  await expect(page).toHaveURL(/q=env%3Dprod/);
  await expect(page.getByRole('table', { name: 'Effective secrets' })).not.toContainText('OTHER');

  // Due in ten days: listed on the home page under the next 30 days.
  await gotoHydrated(page, '/ns/comforts/SOON_DUE');
  await openAction(page, 'Rotation policy');
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Or by (date)', { exact: true }).fill(soon);
  await page.getByRole('button', { name: 'Set rotation' }).click();
  await expect(page.getByTestId('rotation')).toContainText(`by ${soon}`);
  // The references copy what they show.
  await page.getByRole('button', { name: 'Copy the Kestra reference' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("{{ secret('SOON_DUE') }}");

  await gotoHydrated(page, '/');
  await expect(page.getByRole('list', { name: 'Secrets due soon' })).toContainText('SOON_DUE');
  // Dark by the system's preference, and still readable (axe: contrast included).
  const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  expect(background).toBe('rgb(20, 25, 31)');
  for (const url of ['/', '/ns/comforts', '/ns/comforts/SOON_DUE', '/audit', '/admin/users', '/admin/tokens']) {
    await gotoHydrated(page, url);
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(results.violations.map((v) => `${url}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  }
  // The first Tab lands on the skip link, which leads to the content.
  await gotoHydrated(page, '/');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();
  await context.close();
});
