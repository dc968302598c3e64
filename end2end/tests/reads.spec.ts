import crypto from 'node:crypto';
import { addSecret, canary, createNamespace, expect, gotoHydrated, openAction, opener, record, signIn, test } from './helpers';

/**
 * Who reads what: a token reads a secret, and a team lead (an auditor) sees
 * it on the secret's "Read by" list, follows it to the token's page of what
 * it read, and filters the namespace by "Unused". Names and counts only.
 * Run hydrated and without JavaScript.
 */
const RUN = crypto.randomBytes(3).toString('hex');

for (const js of [true, false]) {
  const mode = js ? 'js' : 'html';
  test(`${js ? 'hydrated' : 'without JavaScript'}: a secret's readers, a token's reads and the unused filter`, async ({ page, browser, request }) => {
    const ns = `finance.reads-${mode}-${RUN}`;
    const name = `reads-${mode}-${RUN}`;
    const value = canary();
    await signIn(page, 'admin', (url) => gotoHydrated(page, url));
    await createNamespace(page, ns);
    await addSecret(page, ns, 'READ_ME', value);
    await addSecret(page, ns, 'NOBODY_READS', canary());
    await gotoHydrated(page, '/admin/tokens');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Namespace', { exact: true }).fill(ns);
    await page.getByLabel('Expires', { exact: true }).fill('1d');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByTestId('new-token').inputValue();
    for (let i = 0; i < 2; i++) {
      const res = await request.get(`/v1/namespaces/${ns}/secrets/READ_ME`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status()).toBe(200);
    }
    // The token's name links to what it read.
    await gotoHydrated(page, '/admin/tokens');
    await expect(page.getByRole('link', { name, exact: true })).toHaveAttribute('href', `/readers/token:${name}`);

    const context = await browser.newContext({ javaScriptEnabled: js });
    const lead = await context.newPage();
    const flush = record(lead);
    const open = opener(lead, js);
    await signIn(lead, 'auditor', open);
    await open(`/ns/${ns}/READ_ME`);
    const readers = lead.getByRole('table', { name: 'Read by' });
    const row = readers.getByRole('row').filter({ hasText: `token:${name}` });
    await expect(row.getByRole('cell').nth(1)).toHaveText('2');
    await expect(lead.getByTestId('last-read')).toContainText('by a workload');
    await row.getByRole('link', { name: `token:${name}` }).click();
    await expect(lead.getByRole('heading', { level: 1 })).toHaveText(`What token:${name} read`);
    await expect(lead.getByRole('table', { name: 'Secrets read' })).toContainText(`${ns}/READ_ME`);

    await open(`/ns/${ns}/NOBODY_READS`);
    await expect(lead.getByText('No workload has read this value.')).toBeVisible();
    // Both are new: neither is unused yet (a secret must outlive the window first).
    await open(`/ns/${ns}`);
    await lead.getByLabel('Status', { exact: true }).selectOption('Unused');
    await lead.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect(lead).toHaveURL(/status=unused/);
    await expect(lead.getByRole('status')).toHaveText('No secrets match this filter.');
    expect(await lead.content()).not.toContain(value);
    await flush();
    await context.close();
  });
}

for (const js of [true, false]) {
  const mode = js ? 'js' : 'html';
  test(`${js ? 'hydrated' : 'without JavaScript'}: a shared value is told to an auditor, and rotating to the current value is refused`, async ({ page, browser }) => {
    const parent = `finance.shared-${mode}-${RUN}`;
    const child = `${parent}.staging`;
    const value = canary();
    await signIn(page, 'admin', (url) => gotoHydrated(page, url));
    await createNamespace(page, child);
    await addSecret(page, parent, 'DB_PASSWORD', value);
    await addSecret(page, child, 'DB_PASSWORD', value);

    const context = await browser.newContext({ javaScriptEnabled: js });
    const lead = await context.newPage();
    const flush = record(lead);
    const open = opener(lead, js);
    await signIn(lead, 'auditor', open);
    await open(`/ns/${child}/DB_PASSWORD`);
    const note = lead.getByTestId('same-value');
    await expect(note).toContainText(`Same value as the parent it overrides (${parent})`);
    await expect(note.getByRole('link', { name: `${parent}/DB_PASSWORD` })).toBeVisible();
    await flush();
    await context.close();

    // The editor is refused a rotation to the same value, and told nothing else.
    const edContext = await browser.newContext({ javaScriptEnabled: js });
    const ed = await edContext.newPage();
    const edFlush = record(ed);
    await signIn(ed, 'editor', opener(ed, js));
    await opener(ed, js)(`/ns/${child}/DB_PASSWORD`);
    await expect(ed.getByTestId('same-value')).toHaveCount(0);
    await openAction(ed, 'Rotate the value');
    await ed.getByLabel('New value', { exact: true }).fill(value);
    await ed.getByRole('button', { name: 'Rotate', exact: true }).click();
    await expect(ed.locator('#rotate-value-error')).toContainText('equals the current one');
    await expect(ed.getByTestId('current-version')).toHaveText('1');
    await edFlush();
    await edContext.close();
  });
}
