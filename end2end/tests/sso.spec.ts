import { expect, test as base, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Single sign-on in a real browser against a real, OpenID Certified provider
 * (`oidc-provider` from npm, its development login form) at `localhost`,
 * while Strongroom is at `127.0.0.1`: two sites, so the IdP's redirect back is
 * a cross-site navigation and the SameSite=Strict session cookie must still
 * arrive. Roles come from groups; a user with no mapped group and a local
 * name collision are refused; a group removed at the IdP takes the role away
 * at the next sign-in; signing out ends the IdP's session too.
 */

const STATE = process.env.E2E_STATE ?? '';
const BIN = process.env.E2E_BIN ?? '';
const PASSWORD = process.env.E2E_PASSWORD ?? '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function ready(url: string, child: ChildProcess, log: string) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${url} exited: ${fs.readFileSync(log, 'utf8')}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not start: ${fs.readFileSync(log, 'utf8')}`);
}

type World = { strongroom: string; accounts: string; stop: () => void };

/** The IdP and a Strongroom configured for it, each with a data dir of its own. */
async function start(): Promise<World> {
  const dir = fs.mkdtempSync(path.join(STATE, 'sso-'));
  const [idpPort, port] = [await freePort(), await freePort()];
  const strongroom = `http://127.0.0.1:${port}`;
  const accounts = path.join(dir, 'accounts.json');
  fs.writeFileSync(accounts, JSON.stringify({ alice: { groups: ['platform'] }, dave: { groups: ['nobody-maps-this'] }, carol: { groups: ['platform'] } }));
  const idpLog = path.join(dir, 'idp.log');
  const idpOut = fs.openSync(idpLog, 'w');
  const script = path.join(process.cwd(), 'idp', 'oidc-provider.mjs');
  const idp = spawn('node', [script, String(idpPort), strongroom, accounts], { stdio: ['ignore', idpOut, idpOut] });
  await ready(`http://localhost:${idpPort}/.well-known/openid-configuration`, idp, idpLog);

  // A local account named like an IdP user (carol): SSO must not take it over.
  const data = path.join(dir, 'data');
  const key = execFileSync(BIN, ['keygen']).toString().trim();
  const env = { ...process.env, STRONGROOM_MASTER_KEY: key };
  delete env.STRONGROOM_MASTER_KEY_FILE;
  for (const [name, role] of [['admin', 'admin'], ['carol', 'editor']]) {
    execFileSync(BIN, ['user', 'add', name, '--role', role, '--init', '--data-dir', data], { env, input: `${PASSWORD}\n` });
  }
  const log = path.join(dir, 'server.log');
  const out = fs.openSync(log, 'w');
  const server = spawn(BIN, ['serve'], {
    cwd: dir,
    stdio: ['ignore', out, out],
    env: {
      ...env,
      STRONGROOM_ADDR: `127.0.0.1:${port}`,
      STRONGROOM_DATA_DIR: data,
      STRONGROOM_PUBLIC_URL: strongroom,
      STRONGROOM_OIDC_ISSUER: `http://localhost:${idpPort}`,
      STRONGROOM_OIDC_CLIENT_ID: 'strongroom',
      STRONGROOM_OIDC_CLIENT_SECRET: 'e2e-client-secret',
      STRONGROOM_OIDC_NAME: 'Test IdP',
      STRONGROOM_OIDC_ROLES: 'platform=admin@*,pay-leads=auditor@company.payments',
      RUST_LOG: 'info',
    },
  });
  await ready(`${strongroom}/healthz`, server, log);
  return { strongroom, accounts, stop: () => { server.kill(); idp.kill(); } };
}

const test = base.extend<{}, { world: World }>({
  world: [async ({}, use) => {
    const world = await start();
    await use(world);
    world.stop();
  }, { scope: 'worker' }],
});

/** From a Strongroom page behind sign-in, through the IdP's login form, back. */
async function ssoSignIn(page: Page, world: World, login: string, next = '/admin/users') {
  await page.goto(`${world.strongroom}${next}`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/interaction\//);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password: the development form');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

test.describe.configure({ mode: 'serial' });

test('SSO signs a person in across sites, with the roles their groups give', async ({ browser, world }) => {
  const page = await (await browser.newContext()).newPage();
  await ssoSignIn(page, world, 'alice');
  // Back on Strongroom, signed in, on the page asked for (the Strict cookie arrived).
  await expect(page).toHaveURL(`${world.strongroom}/admin/users`);
  await expect(page.getByText('Signed in as')).toContainText('alice');
  const row = page.getByRole('row').filter({ hasText: 'alice' });
  await expect(row).toContainText('admin');
  await expect(row).toContainText('from SSO');
});

test('a person whose groups map to no role is refused, and nothing is made', async ({ browser, world }) => {
  const page = await (await browser.newContext()).newPage();
  await ssoSignIn(page, world, 'dave');
  await expect(page.locator('#sso-message')).toHaveText(/Your groups give you no role here/);
  await expect(page.getByText('Signed in as')).toHaveCount(0);
});

test('an IdP user named like a local account is refused, not signed in as it', async ({ browser, world }) => {
  const page = await (await browser.newContext()).newPage();
  await ssoSignIn(page, world, 'carol');
  await expect(page.locator('#sso-message')).toHaveText(/An account with your name already exists/);
  await page.goto(`${world.strongroom}/`);
  await expect(page).toHaveURL(/\/login/);
});

test('a group removed at the IdP takes the role away at the next sign-in; sign-out ends the IdP session', async ({ browser, world }) => {
  const page = await (await browser.newContext()).newPage();
  await ssoSignIn(page, world, 'alice');
  await expect(page.getByRole('link', { name: 'Users' })).toBeVisible();

  fs.writeFileSync(world.accounts, JSON.stringify({ alice: { groups: ['pay-leads'] } }));
  await page.getByRole('button', { name: 'Sign out' }).click();
  // RP-initiated logout: the IdP asks, then sends the browser back to /login.
  await page.getByRole('button', { name: /Yes, sign me out/ }).click();
  await expect(page).toHaveURL(`${world.strongroom}/login`);

  // The IdP's session is over: its login form again. The new groups: auditor only.
  await ssoSignIn(page, world, 'alice', '/');
  await expect(page).toHaveURL(`${world.strongroom}/`);
  await expect(page.getByText('Signed in as')).toContainText('alice');
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Audit' })).toBeVisible();
});
