import { type Page } from '@playwright/test';
import fs from 'node:fs';
import { addSecret, canary, createNamespace, expect, gotoHydrated, signIn, test, openAction, rotate } from './helpers';

const hydrated = (page: Page) => (url: string) => gotoHydrated(page, url);

test('an auditor filters the trail by namespace and downloads it as CSV, without values', async ({ browser }) => {
  // The events: an editor makes a namespace, adds a secret and rotates it.
  const values = [canary(), canary()];
  const editorContext = await browser.newContext();
  const editor = await editorContext.newPage();
  await signIn(editor, 'editor', hydrated(editor));
  await createNamespace(editor, 'finance.ledger');
  await addSecret(editor, 'finance.ledger', 'LEDGER_TOKEN', values[0]);
  await gotoHydrated(editor, '/ns/finance.ledger/LEDGER_TOKEN');
  await rotate(editor, values[1]);
  await expect(editor.getByTestId('current-version')).toHaveText('2');
  await openAction(editor, 'Rotation policy');
  await editor.getByLabel('Every (days)', { exact: true }).fill('30');
  await editor.getByRole('button', { name: 'Set rotation' }).click();
  await expect(editor.getByTestId('rotation')).toContainText('every 30 days — next by');
  // Editors do not read the trail.
  await expect(editor.getByRole('link', { name: 'Audit' })).toHaveCount(0);
  await editorContext.close();

  const auditorContext = await browser.newContext();
  const auditor = await auditorContext.newPage();
  await signIn(auditor, 'auditor', hydrated(auditor));
  await auditor.getByRole('link', { name: 'Audit' }).click();
  await expect(auditor.getByRole('heading', { name: 'Audit trail' })).toBeVisible();
  await expect(auditor.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await auditor.getByLabel('Namespace', { exact: true }).fill('finance.ledger');
  await auditor.getByRole('button', { name: 'Filter' }).click();
  await expect(auditor).toHaveURL(/namespace=finance.ledger/);
  const rows = auditor.getByRole('table', { name: 'Audit entries' }).getByRole('row');
  await expect(rows.filter({ hasText: 'secret.rotate' })).toContainText('LEDGER_TOKEN');
  await expect(rows.filter({ hasText: 'secret.add' })).toContainText('editor');
  await expect(rows.filter({ hasText: 'namespace.create' })).toContainText('finance.ledger');
  // Only that subtree: the auditor's own sign-in (no namespace) is not listed.
  await expect(rows.filter({ hasText: 'sign-in' })).toHaveCount(0);

  const [download] = await Promise.all([
    auditor.waitForEvent('download'),
    auditor.getByRole('link', { name: 'CSV' }).click(),
  ]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toBe('id,time,actor,action,namespace,key,version,client,outcome');
  const events = lines.slice(1).map((l) => l.split(',').slice(2, 7).join(','));
  expect(events).toEqual(
    expect.arrayContaining([
      'editor,namespace.create,finance.ledger,,',
      'editor,secret.add,finance.ledger,LEDGER_TOKEN,1',
      'editor,secret.rotate,finance.ledger,LEDGER_TOKEN,2',
      'editor,secret.rotation-policy,finance.ledger,LEDGER_TOKEN,2',
    ]),
  );
  for (const value of values) expect(csv).not.toContain(value);
  await auditorContext.close();
});
