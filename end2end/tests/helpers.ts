import { test as base, expect, type Page } from '@playwright/test';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Directory shared with scripts/e2e.sh: data dir, server log, canaries, responses. */
export const STATE = process.env.E2E_STATE ?? '';
export const CANARIES = path.join(STATE, 'canaries.txt');
export const RESPONSES = path.join(STATE, 'responses.bin');

/** A random value to store through the UI; recorded so the scan can look for it. */
export function canary(): string {
  const value = `canary-${crypto.randomBytes(12).toString('hex')}`;
  fs.appendFileSync(CANARIES, value + '\n');
  return value;
}

/** Saves every response body and header set `page` receives, for the canary scan. */
export function record(page: Page): () => Promise<void> {
  const pending: Promise<void>[] = [];
  page.on('response', (res) => {
    pending.push(
      (async () => {
        // A response that arrives while its page is closing can no longer be read: it is
        // skipped rather than failing the test that closed the page.
        const headers = JSON.stringify(await res.allHeaders().catch(() => ({})));
        const body = await res.body().catch(() => Buffer.alloc(0));
        fs.appendFileSync(RESPONSES, Buffer.concat([Buffer.from(headers + '\n'), body, Buffer.from('\n')]));
      })(),
    );
  });
  return async () => {
    // Responses may still arrive while earlier ones are saved: until none is new.
    for (let saved = -1; saved !== pending.length; ) {
      saved = pending.length;
      await Promise.allSettled(pending);
    }
  };
}

/** `test` whose default page records its responses. */
export const test = base.extend({
  page: async ({ page }, use) => {
    const flush = record(page);
    await use(page);
    await flush();
  },
});
export { expect };

/** Opens a URL as a test run `js` (hydrated) or not (plain HTML) wants it. */
export function opener(page: Page, js: boolean): (url: string) => Promise<void> {
  return async (url: string) => {
    if (js) await gotoHydrated(page, url);
    else await page.goto(url);
  };
}

/** Opens `url` and waits until the WebAssembly app has hydrated the page. */
export async function gotoHydrated(page: Page, url: string) {
  await page.goto(url);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export function secretRow(page: Page, key: string) {
  return page.getByRole('table', { name: 'Effective secrets' }).getByRole('row').filter({
    has: page.getByRole('link', { name: key, exact: true }),
  });
}

export const PASSWORD = process.env.E2E_PASSWORD ?? '';

/** Signs in through the login form; `open` decides hydrated or not. */
export async function signIn(page: Page, username: string, open: (url: string) => Promise<void>) {
  await open('/login');
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Account' })).toContainText(`Signed in as ${username}`);
}

/** Creates `ns` from the home page (hydrated). */
export async function createNamespace(page: Page, ns: string) {
  await gotoHydrated(page, '/');
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create namespace' }).click();
  // A created namespace opens; one that exists already (another test made it) is refused, and stays.
  const opened = page.getByRole('heading', { level: 1, name: ns, exact: true });
  const exists = page.locator('#create-namespace-error');
  await expect(opened.or(exists)).toBeVisible();
  if ((await exists.count()) > 0) await expect(exists).toContainText('already exists');
}

/** Opens one of the secret page's actions (each behind its own button). */
export async function openAction(page: Page, summary: string) {
  const details = page.locator('details', { has: page.locator('summary', { hasText: summary }) });
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

/** Rotates the secret whose page is open to `value`. */
export async function rotate(page: Page, value: string) {
  await openAction(page, 'Rotate the value');
  await page.getByLabel('New value', { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Rotate', exact: true }).click();
}

/** Deletes the secret whose page is open, through its confirmation step. */
export async function deleteSecret(page: Page, key: string) {
  await page.getByRole('link', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: `Delete ${key}` }).click();
}

/** Adds `key` = `value` on `/ns/{ns}` (hydrated). */
export async function addSecret(page: Page, ns: string, key: string, value: string) {
  await gotoHydrated(page, `/ns/${ns}`);
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByLabel('Value', { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, key)).toContainText('here');
}
