// The browser and the portal: launching headless Chromium, one isolated browser context
// per person, signing in and out, and a record of every request any page made.
//
// Environment (set by tests/browser/run.sh):
//   MAKONIS_PORTAL_URL         the portal's base URL (default http://127.0.0.1:18080)
//   MAKONIS_ACCOUNTS           the demo accounts table (USER PASSWORD ROLE columns)
//   MAKONIS_CHROMIUM           the Chromium binary (default /usr/bin/chromium)
//   MAKONIS_BROWSER_ARTIFACTS  where screenshots of failed tests go (optional)

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.MAKONIS_PORTAL_URL ?? 'http://127.0.0.1:18080';
export const ORIGIN = new URL(BASE_URL).origin;

/** The texts the tests look for, from portal/i18n/lv.yaml and en.yaml. */
export const TEXT = {
  lv: {
    username: 'Lietotājvārds',
    password: 'Parole',
    signIn: 'Pieslēgties',
    signOut: 'Iziet',
    switchLanguage: 'English',
    wrongCredentials: 'Nepareizs lietotājvārds vai parole.',
  },
  en: {
    username: 'Username',
    password: 'Password',
    signIn: 'Sign in',
    signOut: 'Sign out',
    switchLanguage: 'Latviešu',
    wrongCredentials: 'Wrong username or password.',
  },
};

/** The demo accounts' passwords by user name, from the table platform_demo_accounts wrote. */
export function readAccounts(file = process.env.MAKONIS_ACCOUNTS) {
  if (!file) throw new Error('MAKONIS_ACCOUNTS is not set: run the tests with tests/browser/run.sh');
  const passwords = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
    const [user, password] = line.trim().split(/\s+/);
    if (user && password) passwords.set(user, password);
  }
  return passwords;
}

/**
 * Headless Chromium with the portal: every context it opens records its requests and
 * script errors, and the pages of all of them can be photographed when a test fails.
 */
export class Browser {
  /**
   * @param {import('playwright-core').Browser} browser
   * @param {Map<string, string>} accounts
   */
  constructor(browser, accounts) {
    this.browser = browser;
    this.accounts = accounts;
    /** Every request any page made: { url, page }. */
    this.requests = [];
    /** Uncaught script errors: { message, page }. */
    this.scriptErrors = [];
  }

  /**
   * Launches /usr/bin/chromium (never a downloaded build). Playwright starts it with a
   * fresh temporary profile (user-data dir) and removes it on close.
   */
  static async launch() {
    const accounts = readAccounts();
    const browser = await chromium.launch({
      executablePath: process.env.MAKONIS_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    return new Browser(browser, accounts);
  }

  /**
   * A new, empty browser context (no cookies) and a page in it.
   * @param {{ lang?: 'lv' | 'en', viewport?: { width: number, height: number } }} options
   */
  async open({ lang = 'lv', viewport = { width: 1280, height: 900 } } = {}) {
    const context = await this.browser.newContext({
      baseURL: BASE_URL,
      locale: lang === 'lv' ? 'lv-LV' : 'en-GB',
      viewport,
    });
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(30_000);
    context.on('page', (page) => this.watch(page));
    const page = await context.newPage();
    return { context, page };
  }

  /** Records what `page` requests and its uncaught script errors. */
  watch(page) {
    page.on('request', (request) => this.requests.push({ url: request.url(), page: page.url() }));
    page.on('pageerror', (error) => this.scriptErrors.push({ message: error.message, page: page.url() }));
  }

  /** The password of a demo account. */
  password(user) {
    const password = this.accounts.get(user);
    if (!password) throw new Error(`no demo account ${user} in ${process.env.MAKONIS_ACCOUNTS}`);
    return password;
  }

  /** Saves a screenshot and the HTML of every open page, named after the failed test. */
  async capture(testName) {
    const directory = process.env.MAKONIS_BROWSER_ARTIFACTS;
    if (!directory) return;
    mkdirSync(directory, { recursive: true });
    const base = testName.replace(/[^\p{L}\p{N}]+/gu, '-').slice(0, 80);
    let n = 0;
    for (const context of this.browser.contexts()) {
      for (const page of context.pages()) {
        n += 1;
        try {
          await page.screenshot({ path: join(directory, `${base}-${n}.png`), fullPage: true, timeout: 5_000 });
          writeFileSync(join(directory, `${base}-${n}.html`), await page.content());
        } catch {
          // a page that is closing or navigating: nothing to keep
        }
      }
    }
  }

  async close() {
    await this.browser.close();
  }
}

/** Signs in through the sign-in form and waits until the portal has let the user in. */
export async function signIn(page, browser, user, lang = 'lv') {
  const text = TEXT[lang];
  if (!new URL(page.url(), BASE_URL).pathname.startsWith('/login')) {
    await page.goto('/login');
  }
  await page.getByLabel(text.username).fill(user);
  await page.getByLabel(text.password).fill(browser.password(user));
  await Promise.all([
    page.waitForURL((url) => url.pathname !== '/login'),
    page.getByRole('button', { name: text.signIn, exact: true }).click(),
  ]);
}

/** Signs out with the button in the header and waits for the sign-in page. */
export async function signOut(page, lang = 'lv') {
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/login'),
    page.getByRole('button', { name: TEXT[lang].signOut, exact: true }).click(),
  ]);
}

/** The path of the page's current address (with its query). */
export function pathOf(page) {
  const url = new URL(page.url());
  return url.pathname + url.search;
}
