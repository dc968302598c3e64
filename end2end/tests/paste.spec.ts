import { type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, gotoHydrated, record, secretRow, signIn, test } from './helpers';

/**
 * Issue 19, item 1: a value arrives exactly as pasted. Browsers submit a
 * textarea's line breaks as CRLF; an OpenSSH private key pasted into "Add
 * secret" must come back (read with a token, as a workload reads it) with LF
 * only, so that `ssh-keygen -y` (Debian's openssh-client) accepts it.
 * Written once, run hydrated and without JavaScript.
 */
async function flow(page: Page, open: (url: string) => Promise<void>, ns: string, request: import('@playwright/test').APIRequestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strongroom-paste-'));
  const keyFile = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'paste-test', '-f', keyFile]);
  const privateKey = fs.readFileSync(keyFile, 'utf8');
  const publicKey = fs.readFileSync(`${keyFile}.pub`, 'utf8').trim();
  expect(privateKey.split('\n').length).toBeGreaterThan(5);

  await signIn(page, 'admin', open);
  await open('/');
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(ns);
  await open(`/ns/${ns}`);
  await page.getByLabel('Key', { exact: true }).fill('SSH_KEY');
  await page.getByLabel('Value', { exact: true }).fill(privateKey);
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(secretRow(page, 'SSH_KEY')).toContainText('here');

  await open('/admin/tokens');
  await page.getByLabel('Name', { exact: true }).fill(`${ns}-reader`);
  await page.getByLabel('Namespace', { exact: true }).fill(ns);
  await page.getByLabel('Expires', { exact: true }).fill('1d');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByTestId('new-token').inputValue();

  const res = await request.get(`/v1/namespaces/${ns}/secrets/SSH_KEY`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status()).toBe(200);
  const value: string = (await res.json()).value;
  expect(value.includes('\r')).toBe(false);
  expect(value).toBe(privateKey);
  const readBack = path.join(dir, 'read-back');
  fs.writeFileSync(readBack, value, { mode: 0o600 });
  const derived = execFileSync('ssh-keygen', ['-y', '-f', readBack], { encoding: 'utf8' }).trim();
  expect(derived.split(' ').slice(0, 2)).toEqual(publicKey.split(' ').slice(0, 2));
  fs.rmSync(dir, { recursive: true, force: true });
}

test('hydrated: a pasted OpenSSH key comes back with LF line ends and ssh-keygen accepts it', async ({ page, request }) => {
  await flow(page, (url) => gotoHydrated(page, url), 'paste-js', request);
});

test('without JavaScript: a pasted OpenSSH key comes back with LF line ends', async ({ browser, request }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const flush = record(page);
  await flow(page, async (url) => { await page.goto(url); }, 'paste-nojs', request);
  await flush();
  await context.close();
});
