import { type Page } from '@playwright/test';
import { addSecret, canary, createNamespace, expect, gotoHydrated, signIn, test } from './helpers';

/** The page never scrolls sideways, and the header's Sign out stays on screen. */
async function fits(page: Page, url: string, width: number) {
  await gotoHydrated(page, url);
  const { scroll, inner, wide } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    // What sticks out, innermost first: named in the failure.
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && el.children.length === 0)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} "${(el.textContent ?? '').slice(0, 30)}"`),
  }));
  expect(scroll, `${url} at ${width} px scrolls sideways: ${wide.join(', ')}`).toBeLessThanOrEqual(inner);
  const signOut = await page.getByRole('button', { name: 'Sign out' }).boundingBox();
  expect(signOut, url).not.toBeNull();
  expect(signOut!.x + signOut!.width, `${url}: Sign out off screen`).toBeLessThanOrEqual(width);
}

test('every main page fits a 390 px phone and a 1280 px window without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, 'admin', (url) => gotoHydrated(page, url));
  const ns = 'layout.a-rather-long-namespace-name.for-narrow-screens';
  await createNamespace(page, ns);
  await addSecret(page, ns, 'A_RATHER_LONG_SECRET_KEY_NAME_FOR_NARROW_SCREENS', canary());
  const pages = ['/', `/ns/${ns}`, `/ns/${ns}/A_RATHER_LONG_SECRET_KEY_NAME_FOR_NARROW_SCREENS`, '/audit', '/admin/users',
    '/admin/tokens'];
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    for (const url of pages) await fits(page, url, width);
  }
  // The trail uses the full width: no cell breaks a name mid-word.
  await page.setViewportSize({ width: 1280, height: 900 });
  await gotoHydrated(page, '/audit');
  const table = await page.getByRole('table', { name: 'Audit entries' }).boundingBox();
  expect(table!.width).toBeGreaterThan(1100);
  const action = page.getByRole('cell', { name: 'secret.add', exact: true }).first();
  const box = await action.boundingBox();
  expect(box!.height, 'secret.add wraps').toBeLessThan(40);
});
