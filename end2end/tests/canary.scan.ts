import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CANARIES, RESPONSES, STATE } from './helpers';

/** The canary as it would look raw, base64 (any alignment, both alphabets) or hex. */
function forms(value: string): string[] {
  const raw = Buffer.from(value);
  const out = [value, raw.toString('hex'), raw.toString('hex').toUpperCase()];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64');
    // Drop the characters that depend on neighbouring bytes.
    const core = b64.slice(4, -4);
    out.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return out;
}

function leaks(haystack: Buffer, value: string): string[] {
  return forms(value).filter((form) => haystack.includes(form));
}

test('the scanner finds a canary hidden raw, in base64 or in hex', () => {
  const value = 'canary-00112233445566778899aabb';
  for (const hidden of [value, Buffer.from('xy' + value).toString('base64'), Buffer.from(value).toString('hex')]) {
    expect(leaks(Buffer.from(`prefix ${hidden} suffix`), value).length).toBeGreaterThan(0);
  }
});

test('no stored value appears in the database files, the server log or any response', () => {
  const canaries = fs.readFileSync(CANARIES, 'utf8').split('\n').filter(Boolean);
  expect(canaries.length).toBeGreaterThanOrEqual(10);
  const db = path.join(STATE, 'data', 'strongroom.db');
  const files = [db, `${db}-wal`, `${db}-shm`, path.join(STATE, 'server.log'), RESPONSES].filter((f) => fs.existsSync(f));
  expect(files).toContain(db);
  expect(files).toContain(path.join(STATE, 'server.log'));
  expect(files).toContain(RESPONSES);
  expect(fs.statSync(RESPONSES).size).toBeGreaterThan(10_000);
  for (const file of files) {
    const content = fs.readFileSync(file);
    for (const value of canaries) {
      expect(leaks(content, value), `${value} found in ${path.basename(file)}`).toEqual([]);
    }
  }
});

/** A fingerprint's forms: its bytes raw, hex (either case) and base64 (any alignment, both alphabets). */
function byteForms(raw: Buffer): Buffer[] {
  const out = [raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('hex').toUpperCase())];
  for (let shift = 0; shift < 3; shift++) {
    const core = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64').slice(4, -4);
    out.push(Buffer.from(core), Buffer.from(core.replaceAll('+', '-').replaceAll('/', '_')));
  }
  return out;
}

test('no value fingerprint appears in the server log or any response', () => {
  const db = path.join(STATE, 'data', 'strongroom.db');
  // Read with Python's sqlite3 (the server holds the file open; reading is fine under WAL).
  const script =
    "import sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n" +
    "print('\\n'.join(r[0].hex() for r in c.execute('SELECT fingerprint FROM secret_versions WHERE fingerprint IS NOT NULL')))";
  const fingerprints = execFileSync('python3', ['-c', script, db], { encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(fingerprints.length).toBeGreaterThanOrEqual(10);
  for (const file of [path.join(STATE, 'server.log'), RESPONSES]) {
    const content = fs.readFileSync(file);
    for (const hex of fingerprints) {
      const found = byteForms(Buffer.from(hex, 'hex')).filter((form) => content.includes(form));
      expect(found.length, `a fingerprint found in ${path.basename(file)}`).toBe(0);
    }
  }
});
