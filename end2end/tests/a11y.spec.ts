import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, type Page } from '@playwright/test';
import crypto from 'node:crypto';
import { addSecret, canary, createNamespace, deleteSecret, expect, gotoHydrated, record, rotate, signIn, test } from './helpers';

/**
 * axe-core finds no WCAG 2.1 A/AA violation on any page a role can open,
 * hydrated and without JavaScript: one test per page, role and mode, so a
 * failure names exactly where.
 */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Names of this worker's own (a restarted worker makes new ones): a namespace
// under `finance` (the editor's and auditor's grant) with its own secrets, a
// child that inherits them, a rotated secret and a deleted one.
const RUN = crypto.randomBytes(3).toString('hex');
const NS = `finance.a11y-${RUN}`;
const CHILD = `${NS}.payroll`;
const KEY = 'DB_PASSWORD';
const GONE = 'OLD_API_KEY';

type Role = 'admin' | 'editor' | 'auditor';
type State = Awaited<ReturnType<BrowserContext['storageState']>>;

/** Every page `role` can open, with what to call it in a test title. */
function pages(role: Role): [string, string][] {
  const common: [string, string][] = [
    ['home', '/'],
    ['namespace finance', '/ns/finance'],
    ['namespace with own and deleted secrets', `/ns/${NS}`],
    ['child namespace with an inherited secret', `/ns/${CHILD}`],
    ['secret with versions', `/ns/${NS}/${KEY}`],
    ['deleted secret', `/ns/${NS}/${GONE}`],
    ['asking before a delete', `/ns/${NS}/${KEY}?confirm=delete`],
    ['asking before restoring a version', `/ns/${NS}/${KEY}?confirm=restore&version=1`],
    ['account', '/account'],
    ['completeness of finance', '/completeness/finance'],
  ];
  const trail: [string, string][] = [
    ['audit trail', '/audit'],
    ['audit trail, filtered', `/audit?namespace=${NS}&action=secret.rotate`],
    ['what a token read', `/readers/token:a11y-${RUN}`],
  ];
  const admin: [string, string][] = [
    ['users', '/admin/users'],
    ['one user', '/admin/users/admin'],
    ['asking before a purge', `/ns/${NS}/${GONE}?confirm=purge`],
    ['tokens', '/admin/tokens'],
    ['webhooks', '/admin/webhooks'],
    ['namespace not found', '/ns/finance.does-not-exist'],
  ];
  return { admin: [...common, ...trail, ...admin], editor: common, auditor: [...common, ...trail] }[role];
}

const sessions = new Map<Role, State>();

/** The namespaces, secrets and token the pages show, made once per worker as admin (hydrated). */
async function setUp(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const flush = record(page);
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, CHILD);
  await addSecret(page, NS, KEY, canary());
  await addSecret(page, NS, GONE, canary());
  await gotoHydrated(page, `/ns/${NS}/${KEY}`);
  await rotate(page, canary());
  await expect(page.getByTestId('current-version')).toHaveText('2');
  await gotoHydrated(page, `/ns/${NS}`);
  await page.getByLabel('Require keys (here and below)').fill(`${KEY} SMTP_URL`);
  await page.getByRole('button', { name: 'Require', exact: true }).click();
  await expect(page.getByRole('table', { name: 'Required keys' })).toContainText('SMTP_URL');
  await gotoHydrated(page, `/ns/${NS}/${GONE}`);
  await deleteSecret(page, GONE);
  await expect(page.locator('.banner')).toContainText('Deleted');
  await gotoHydrated(page, '/admin/tokens');
  await page.getByLabel('Name', { exact: true }).fill(`a11y-${RUN}`);
  await page.getByLabel('Namespace', { exact: true }).fill(NS);
  await page.getByLabel('Expires', { exact: true }).fill('30d');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token')).toBeVisible();
  await flush();
  await context.close();
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(90_000);
  await setUp(browser);
  for (const role of ['admin', 'editor', 'auditor'] as const) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, role, (url) => gotoHydrated(page, url));
    sessions.set(role, await context.storageState());
    await context.close();
  }
});

/** axe's violations on `page` as it is now, one readable line per element. */
async function axe(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  return results.violations.flatMap((v) =>
    v.nodes.map(
      (n) => `${v.id} [${v.impact}] ${n.target.join(' ')}: ${v.help} (${v.helpUrl})\n    ${n.failureSummary?.replaceAll('\n', '\n    ')}`,
    ),
  );
}

/**
 * axe's violations on `page`. axe runs as a script in the page, which a page
 * without JavaScript cannot do: there it checks a copy of the page as the
 * browser has it (the server's HTML, its scripts left out) opened at the same
 * address, with the same style sheets, in a page that runs only axe.
 */
async function violations(page: Page, js: boolean): Promise<string[]> {
  if (js) return axe(page);
  const [url, html] = [page.url(), await page.content()];
  const context = await page.context().browser()!.newContext();
  try {
    const copy = await context.newPage();
    await copy.route((u) => u.href === url, (route) =>
      route.fulfill({ contentType: 'text/html; charset=utf-8', body: html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '') }),
    );
    await copy.goto(url);
    await copy.waitForLoadState('load');
    return await axe(copy);
  } finally {
    await context.close();
  }
}

/** A page in a context of its own: signed in as `role` (or not), JavaScript on or off. */
async function open(browser: Browser, role: Role | null, js: boolean, width = 1280) {
  const context = await browser.newContext({
    javaScriptEnabled: js,
    storageState: role ? sessions.get(role) : undefined,
    viewport: { width, height: 800 },
  });
  const page = await context.newPage();
  const flush = record(page);
  const go = async (url: string) => {
    if (js) await gotoHydrated(page, url);
    else await page.goto(url);
  };
  const close = async () => {
    await flush();
    await context.close();
  };
  return { page, go, close };
}

for (const js of [true, false]) {
  const mode = js ? 'JS on' : 'JS off';

  test(`axe, signed out, ${mode}: sign-in page`, async ({ browser }) => {
    const { page, go, close } = await open(browser, null, js);
    await go('/login');
    expect(await violations(page, js), '/login').toEqual([]);
    await close();
  });

  test(`axe, signed out, ${mode}: sign-in page after a wrong password`, async ({ browser }) => {
    const { page, go, close } = await open(browser, null, js);
    await go('/login');
    await page.getByLabel('Username', { exact: true }).fill(`a11y-nobody-${RUN}`);
    await page.getByLabel('Password', { exact: true }).fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid username or password.');
    expect(await violations(page, js), '/login, refused').toEqual([]);
    await close();
  });

  for (const role of ['admin', 'editor', 'auditor'] as const) {
    for (const [name, url] of pages(role)) {
      test(`axe, ${role}, ${mode}: ${name}`, async ({ browser }) => {
        const { page, go, close } = await open(browser, role, js);
        await go(url);
        await expect(page.getByRole('navigation', { name: 'Account' })).toContainText(`Signed in as ${role}`);
        expect(await violations(page, js), url).toEqual([]);
        await close();
      });
    }
  }

  test(`axe, editor, ${mode}: namespace page with a field error`, async ({ browser }) => {
    const { page, go, close } = await open(browser, 'editor', js);
    await go(`/ns/${NS}`);
    // A key that exists: refused by the server, the typed fields refilled, the value said to be cleared.
    await page.getByLabel('Key', { exact: true }).fill(KEY);
    await page.getByLabel('Value', { exact: true }).fill(canary());
    await page.getByLabel('Tags', { exact: true }).fill('not-a-tag');
    await page.getByRole('button', { name: 'Add secret' }).click();
    await expect(page.locator('#add-tags-error')).toBeVisible();
    await expect(page.locator('#add .cleared')).toBeVisible();
    expect(await violations(page, js), `/ns/${NS}, refused`).toEqual([]);
    await close();
  });
}

// A phone: the header wraps and wide tables scroll in their own box (the
// style sheet is the same with JavaScript off). One test per role, every page.
for (const role of ['admin', 'editor', 'auditor'] as const) {
  test(`axe, ${role}, JS on, 390 px wide: every page`, async ({ browser }) => {
    test.setTimeout(120_000);
    const { page, go, close } = await open(browser, role, true, 390);
    const found: string[] = [];
    for (const [, url] of pages(role)) {
      await go(url);
      found.push(...(await violations(page, true)).map((v) => `${url}: ${v}`));
    }
    expect(found).toEqual([]);
    await close();
  });
}
