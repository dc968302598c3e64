import { type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';
import crypto from 'node:crypto';
import { addSecret, canary, createNamespace, expect, gotoHydrated, PASSWORD, record, secretRow, signIn, test } from './helpers';

/**
 * Keyboard only: every control is reached by Tab and shows a visible focus
 * ring; signing in, creating a namespace, adding and rotating a secret take
 * only Tab, typing, Enter and Space; after a refused submit, focus is on what
 * to fix.
 */

// This worker's own names (a restarted worker makes new ones).
const RUN = crypto.randomBytes(3).toString('hex');
const NS = `keyboard-${RUN}`;
const KEY = 'SMTP_PASSWORD';

/**
 * Presses Tab until `target` has focus (going round the page if need be).
 * Asks with a selector, not a script in the page: it works with JavaScript off.
 */
async function tabTo(page: Page, target: Locator, max = 250) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await target.and(page.locator(':focus')).count()) > 0) return;
  }
  throw new Error(`${max} presses of Tab never reached ${target}`);
}

/** Signs in with Tab, typing and Enter alone (hydrated). */
async function keyboardSignIn(page: Page, username: string) {
  await gotoHydrated(page, '/login');
  await tabTo(page, page.getByLabel('Username', { exact: true }));
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('navigation', { name: 'Account' })).toContainText(`Signed in as ${username}`);
}

/** Focus is on the first field marked invalid, or else on the error message. */
async function expectFocusOnError(page: Page) {
  const invalid = page.locator('[aria-invalid="true"]');
  const target = (await invalid.count()) > 0 ? invalid.first() : page.getByRole('alert').first();
  await expect(target, 'after a refused submit, focus is on the first invalid field or the error').toBeFocused();
}

type Reached = { problems: string[]; controls: number; reached: number };

/**
 * Tabs once round the page from its start. Every visible link, button and
 * field must get focus, and show a focus ring it does not have unfocused: an
 * outline at least 2 px wide, at least 3:1 against the background around it.
 */
async function tabRound(page: Page): Promise<Reached> {
  // Before any Tab: number the controls and note how each looks unfocused.
  const controls = await page.evaluate(() => {
    const all = document.querySelectorAll<HTMLElement>(
      'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), ' +
        'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])',
    );
    const shown = [...all].filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden');
    shown.forEach((el, i) => {
      const s = getComputedStyle(el);
      el.dataset.kbIndex = String(i);
      el.dataset.kbUnfocused = JSON.stringify([s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]);
    });
    const field = (el: HTMLElement) => ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
    return shown.map((el) => {
      const name = field(el) ? `#${el.id || el.getAttribute('name')}` : el.innerText || el.getAttribute('aria-label') || '';
      return `${el.tagName.toLowerCase()} "${name.trim().slice(0, 40)}"`;
    });
  });
  const seen = new Set<number>();
  const problems: string[] = [];
  let first: number | null = null;
  for (let presses = 0; presses < controls.length * 4 + 20; presses++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      // Focusable without being a control (Chromium lets Tab reach a box that scrolls):
      // numbered now, and held to the same ring.
      if (el.dataset.kbIndex === undefined) {
        el.dataset.kbIndex = String(1000 + document.querySelectorAll('[data-kb-extra]').length);
        el.dataset.kbExtra = `${el.tagName.toLowerCase()}.${el.className} (not a control)`;
      }
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r, g, b]: number[]) => {
        const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
      };
      // The first opaque background behind the element (the ring is drawn outside it).
      let background = [255, 255, 255];
      for (let up = el.parentElement; up; up = up.parentElement) {
        const c = rgb(getComputedStyle(up).backgroundColor);
        if (c.length >= 3 && (c.length === 3 || c[3] > 0)) {
          background = c;
          break;
        }
      }
      const s = getComputedStyle(el);
      const [a, b] = [luminance(rgb(s.outlineColor)), luminance(background)];
      return {
        index: Number(el.dataset.kbIndex),
        focusVisible: el.matches(':focus-visible'),
        style: [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow],
        unfocused: el.dataset.kbUnfocused ? (JSON.parse(el.dataset.kbUnfocused) as string[]) : null,
        extra: el.dataset.kbExtra ?? null,
        contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
      };
    });
    if (focused === null) {
      if (seen.size > 0) break; // Past the last control.
      continue;
    }
    if (focused.index === first && seen.size > 1) break; // Round again.
    first ??= focused.index;
    if (seen.has(focused.index)) continue; // A date field's parts: one control.
    seen.add(focused.index);
    const name = focused.extra ?? controls[focused.index];
    const [style, width] = focused.style;
    if (!focused.focusVisible) problems.push(`${name}: focused by Tab but not :focus-visible`);
    if (style === 'none' || style === 'auto' || parseFloat(width) < 2) {
      problems.push(`${name}: no focus ring of its own (outline ${focused.style.join(' / ')})`);
    } else if (focused.contrast < 3) {
      problems.push(`${name}: focus ring contrast ${focused.contrast.toFixed(2)}:1 (outline ${focused.style[2]})`);
    }
    if (focused.unfocused && JSON.stringify(focused.style) === JSON.stringify(focused.unfocused)) {
      problems.push(`${name}: looks the same focused and unfocused`);
    }
  }
  controls.forEach((name, i) => {
    if (!seen.has(i)) problems.push(`${name}: never reached by Tab`);
  });
  return { problems, controls: controls.length, reached: controls.filter((_, i) => seen.has(i)).length };
}

let admin: Awaited<ReturnType<BrowserContext['storageState']>>;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(60_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  const flush = record(page);
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  await createNamespace(page, `${NS}.child`);
  await addSecret(page, NS, KEY, canary());
  admin = await context.storageState();
  await flush();
  await context.close();
});

/** A hydrated page signed in as admin (or signed out). */
async function adminPage(browser: Browser, signedIn = true, javaScriptEnabled = true) {
  const context = await browser.newContext({ storageState: signedIn ? admin : undefined, javaScriptEnabled });
  const page = await context.newPage();
  const flush = record(page);
  return {
    page,
    close: async () => {
      await flush();
      await context.close();
    },
  };
}

const ROUND: [string, string, boolean][] = [
  ['sign-in page', '/login', false],
  ['home', '/', true],
  ['namespace page', `/ns/${NS}`, true],
  ['secret page', `/ns/${NS}/${KEY}`, true],
  ['audit trail', '/audit', true],
  ['account', '/account', true],
  ['users', '/admin/users', true],
  ['tokens', '/admin/tokens', true],
];

for (const [name, url, signedIn] of ROUND) {
  test(`keyboard: every control of the ${name} is reached by Tab and shows a focus ring`, async ({ browser }) => {
    const { page, close } = await adminPage(browser, signedIn);
    await gotoHydrated(page, url);
    // Every action behind its button, open: their controls count too.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    const { problems, controls, reached } = await tabRound(page);
    expect(problems, url).toEqual([]);
    expect(reached).toBe(controls);
    expect(controls).toBeGreaterThan(1);
    await close();
  });
}

test('keyboard: sign in, create a namespace, open it, add a secret and rotate it', async ({ page }) => {
  await keyboardSignIn(page, 'admin');
  const ns = `${NS}.by-keys`;

  // Home: the create form, then the new namespace's link.
  await tabTo(page, page.getByLabel('Namespace', { exact: true }));
  await page.keyboard.type(ns);
  await tabTo(page, page.getByLabel('Description', { exact: true }));
  await page.keyboard.type('Made with the keyboard');
  await tabTo(page, page.getByRole('button', { name: 'Create namespace' }));
  await page.keyboard.press('Enter');
  // The new namespace opens.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(ns);

  // The namespace: add a secret (Enter in the Key field submits the form).
  await tabTo(page, page.getByLabel('Value', { exact: true }));
  await page.keyboard.type(canary());
  await tabTo(page, page.getByLabel('Key', { exact: true }));
  await page.keyboard.type('SMTP_USER_PASSWORD');
  await page.keyboard.press('Enter');
  await expect(secretRow(page, 'SMTP_USER_PASSWORD')).toContainText('here');

  // Its page, then rotate it with Space on the button.
  await tabTo(page, page.getByRole('link', { name: 'SMTP_USER_PASSWORD', exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('current-version')).toHaveText('1');
  await tabTo(page, page.locator('summary', { hasText: 'Rotate the value' }));
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByLabel('New value', { exact: true }));
  await page.keyboard.type(canary());
  await tabTo(page, page.getByRole('button', { name: 'Rotate', exact: true }));
  await page.keyboard.press('Space');
  await expect(page.getByTestId('current-version')).toHaveText('2');
});

/** Submits the add-secret form on `/ns/{NS}` with a key that exists, by keyboard. */
async function refusedAdd(page: Page) {
  await tabTo(page, page.getByLabel('Key', { exact: true }));
  await page.keyboard.type(KEY);
  await tabTo(page, page.getByLabel('Value', { exact: true }));
  await page.keyboard.type(canary());
  await tabTo(page, page.getByRole('button', { name: 'Add secret' }));
  await page.keyboard.press('Enter');
  await expect(page.locator('#add-key-error')).toContainText('Rotate it instead');
}

test('keyboard, hydrated: after a refused add-secret, focus moves to the field to fix', async ({ browser }) => {
  const { page, close } = await adminPage(browser);
  await gotoHydrated(page, `/ns/${NS}`);
  await refusedAdd(page);
  // The refusal is a new page: its code has to load before it moves the focus.
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expectFocusOnError(page);
  await close();
});

test('keyboard, without JavaScript: the refused add-secret page opens with focus on the field to fix', async ({
  browser,
}) => {
  const { page, close } = await adminPage(browser, true, false);
  await page.goto(`/ns/${NS}`);
  await refusedAdd(page);
  await expectFocusOnError(page);
  await close();
});
