import { defineConfig } from '@playwright/test';

// The server is started by scripts/e2e.sh (a release build on a free loopback
// port with a temporary data dir), which passes BASE_URL and E2E_STATE.
export default defineConfig({
  testDir: './tests',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.BASE_URL,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [
    // The README's screenshots: first, while the server holds only the tour's data
    // (listed first, it runs first; nothing waits for it, so a failure stops no other test).
    { name: 'tour', testMatch: /tour\.spec\.ts/ },
    { name: 'ui', testMatch: /.*\.spec\.ts/, testIgnore: /tour\.spec\.ts/ },
    // Runs after every UI test: scans what they left behind for their canaries.
    { name: 'canary-scan', testMatch: /canary\.scan\.ts/, dependencies: ['tour', 'ui'] },
  ],
});
