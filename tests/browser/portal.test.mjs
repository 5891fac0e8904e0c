// Real-browser tests of the self-service portal, in headless Chromium against a portal
// on a local control plane (tests/browser/run.sh starts both). The suites run in order
// in one browser; each person signs in in an isolated browser context of their own.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { checkNoHorizontalScroll, checkPage, checkStructure } from './lib/checks.mjs';
import { BASE_URL, Browser, ORIGIN, TEXT, pathOf, signIn, signOut } from './lib/portal.mjs';

/** Makes this run's instance names unique. */
const RUN = Date.now().toString(36).slice(-6);

/** @type {Browser} */
let browser;
before(async () => {
  browser = await Browser.launch();
});
after(async () => {
  await browser?.close();
});

/** A test that, when it fails, leaves screenshots of every open page behind. */
function test(name, options, fn) {
  if (typeof options === 'function') [fn, options] = [options, {}];
  it(name, { timeout: 90_000, ...options }, async (t) => {
    try {
      await fn(t);
    } catch (error) {
      await browser.capture(name);
      throw error;
    }
  });
}

// People, each signed in once in their own browser context (per language), on demand.
const sessions = new Map();

/**
 * A page of `who` ('anonymous' or a demo account) in language `lang`. Latvian is what
 * the browser asks for (Accept-Language); English is chosen with the header's switch
 * before signing in, as a person would.
 */
async function pageOf(who, lang = 'lv') {
  const key = `${who}/${lang}`;
  if (!sessions.has(key)) {
    const { page } = await browser.open({ lang: 'lv' });
    await page.goto('/login');
    if (lang === 'en') {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/login'),
        page.getByRole('button', { name: TEXT.lv.switchLanguage, exact: true }).click(),
      ]);
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
    }
    if (who !== 'anonymous') await signIn(page, browser, who, lang);
    sessions.set(key, page);
  }
  return sessions.get(key);
}

/** The id of the request whose page is open (/requests/vdi-3 → vdi-3). */
function requestIdOf(page) {
  const match = /\/requests\/([^/?#]+)$/.exec(new URL(page.url()).pathname);
  assert.ok(match, `on a request page, not ${page.url()}`);
  return decodeURIComponent(match[1]);
}

/** The request's state badge on its page. */
function stateBadge(page) {
  return page.locator('dl.facts .badge').first();
}

/** Orders DMS (plan small) as vdi-requester with the form's defaults; the request's id. */
async function orderDms(page, instance) {
  await page.goto('/catalog/dms/order?plan=small');
  await page.getByRole('textbox', { name: /^Pakalpojuma nosaukums/ }).fill(instance);
  await page.getByRole('button', { name: 'Pārskatīt pasūtījumu' }).click();
  await page.getByRole('heading', { level: 1, name: 'Pārbaudiet pasūtījumu' }).waitFor();
  await Promise.all([
    page.waitForURL(/\/requests\/[^/]+$/),
    page.getByRole('button', { name: 'Iesniegt pasūtījumu' }).click(),
  ]);
  return requestIdOf(page);
}

// One DMS order left awaiting the agency's approval, for the pages that show such a
// request (with the approve form for the approver).
let pending;
function pendingRequest() {
  pending ??= (async () => {
    const { context, page } = await browser.open();
    await signIn(page, browser, 'vdi-requester');
    const id = await orderDms(page, `dvs-gaida-${RUN}`);
    await context.close();
    return id;
  })();
  return pending;
}

describe('ordering DMS end to end (requester, agency approver, platform, Ready)', () => {
  const instance = `dvs-${RUN}`;
  const comment = `Apstiprinu (pārlūka tests ${RUN})`;
  let page;
  let requestId;
  let broken = false;
  // The steps depend on each other: after a failed one, the rest are skipped.
  function step(name, options, fn) {
    if (typeof options === 'function') [fn, options] = [options, {}];
    test(name, options, async (t) => {
      if (broken) return t.skip('an earlier step failed');
      try {
        await fn(t);
      } catch (error) {
        broken = true;
        throw error;
      }
    });
  }

  step('vdi-requester signs in and finds DMS in the catalog', async () => {
    ({ page } = await browser.open());
    await page.goto('/catalog');
    assert.equal(pathOf(page), '/login?next=%2Fcatalog', 'the catalog asks to sign in first');
    await signIn(page, browser, 'vdi-requester');
    assert.equal(pathOf(page), '/catalog');
    await page.getByRole('searchbox', { name: 'Meklēt katalogā' }).fill('dokumentu vadības');
    await page.getByRole('button', { name: 'Meklēt', exact: true }).click();
    await page.waitForURL(/\/catalog\?q=/);
    await page.getByRole('link', { name: 'Dokumentu vadības sistēma (DVS)' }).click();
    await page.waitForURL('**/catalog/dms');
    await page.getByRole('heading', { level: 1, name: 'Dokumentu vadības sistēma (DVS)' }).waitFor();
  });

  step('orders plan Mazs (small) with a fresh instance name through the form, reviews and submits', async () => {
    await page.getByRole('link', { name: 'Pasūtīt plānu „Mazs”' }).click();
    await page.waitForURL('**/catalog/dms/order?plan=small');
    assert.ok(await page.getByRole('radio', { name: /^Mazs/ }).isChecked(), 'plan Mazs is chosen');
    const name = page.getByRole('textbox', { name: /^Pakalpojuma nosaukums/ });
    assert.equal(await name.inputValue(), 'dms', 'the form proposes a free name');
    assert.equal(
      await page.getByRole('spinbutton', { name: 'Noklusētais glabāšanas termiņš (gadi)' }).inputValue(),
      '10',
      'the parameters are prefilled with their defaults',
    );
    await name.fill(instance);
    await page.getByRole('button', { name: 'Pārskatīt pasūtījumu' }).click();
    await page.getByRole('heading', { level: 1, name: 'Pārbaudiet pasūtījumu' }).waitFor();
    const summary = await page.locator('main dl.facts').first().innerText();
    assert.match(summary, new RegExp(instance));
    assert.match(summary, /Mazs/);
    assert.match(summary, /260,00\s€/);
    await Promise.all([
      page.waitForURL(/\/requests\/[^/]+$/),
      page.getByRole('button', { name: 'Iesniegt pasūtījumu' }).click(),
    ]);
    requestId = requestIdOf(page);
    assert.equal((await stateBadge(page).innerText()).trim(), 'Gaida iestādes apstiprinājumu');
    await signOut(page);
  });

  step('vdi-approver finds it in Approvals and approves it with a comment', async () => {
    await signIn(page, browser, 'vdi-approver');
    await page.getByRole('navigation').getByRole('link', { name: 'Apstiprināšana' }).click();
    await page.waitForURL('**/approvals');
    await page.getByRole('link', { name: requestId, exact: true }).click();
    await page.waitForURL(`**/requests/${requestId}`);
    await page.getByRole('textbox', { name: 'Komentārs' }).fill(comment);
    await Promise.all([
      page.waitForURL(`**/requests/${requestId}`),
      page.getByRole('button', { name: 'Apstiprināt', exact: true }).click(),
    ]);
    await page.getByText('Iestāde apstiprināja').waitFor();
    assert.equal((await stateBadge(page).innerText()).trim(), 'Gaida platformas apstiprinājumu');
    assert.match(await page.locator('ol.timeline').innerText(), new RegExp(comment.replace(/[()]/g, '\\$&')));
    await signOut(page);
  });

  step('admin gives the platform approval', async () => {
    await signIn(page, browser, 'admin');
    await page.getByRole('navigation').getByRole('link', { name: 'Apstiprināšana' }).click();
    await page.getByRole('link', { name: requestId, exact: true }).click();
    await page.waitForURL(`**/requests/${requestId}`);
    await Promise.all([
      page.waitForURL(`**/requests/${requestId}`),
      page.getByRole('button', { name: 'Apstiprināt', exact: true }).click(),
    ]);
    await page.getByText('Platforma apstiprināja').waitFor();
    assert.doesNotMatch((await stateBadge(page).innerText()).trim(), /^Gaida/);
    await signOut(page);
  });

  step('vdi-requester watches the request page until it shows Gatavs (Ready)', { timeout: 240_000 }, async () => {
    await signIn(page, browser, 'vdi-requester');
    await page.getByRole('navigation').getByRole('link', { name: 'Mani pieprasījumi' }).click();
    await page.getByRole('link', { name: requestId, exact: true }).click();
    await page.waitForURL(`**/requests/${requestId}`);
    // The live status follows the instance (server-sent events); the page reloads itself
    // once it is Ready. No sleeps: wait for the state the reloaded page shows.
    const started = Date.now();
    await stateBadge(page).filter({ hasText: /^\s*Gatavs\s*$/ }).waitFor({ timeout: 180_000 });
    const timeline = await page.locator('ol.timeline').innerText();
    assert.match(timeline, /Platforma apstiprināja/);
    assert.match(timeline, /Gatavs/);
    console.log(`# the request became Ready ${((Date.now() - started) / 1000).toFixed(1)} s after the requester opened it`);
  });

  step('My services lists the instance as Darbojas (Ready)', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Mani pakalpojumi' }).click();
    await page.waitForURL('**/services');
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: instance, exact: true }) });
    assert.equal(await row.count(), 1, `one row for ${instance}`);
    assert.equal((await row.locator('.badge').innerText()).trim(), 'Darbojas');
    assert.match(await row.innerText(), /Dokumentu vadības sistēma \(DVS\)/);
  });
});

/** Opens the order form and asks to review it with `instance` as the name. */
async function reviewOrder(page, instance, lang = 'lv') {
  await page.goto('/catalog/dms/order?plan=small');
  const [nameLabel, review] =
    lang === 'lv' ? [/^Pakalpojuma nosaukums/, 'Pārskatīt pasūtījumu'] : [/^Name of the service/, 'Review order'];
  await page.getByRole('textbox', { name: nameLabel }).fill(instance);
  await page.getByRole('button', { name: review }).click();
  await page.waitForLoadState();
}

/** Opens `path` again every second until `locator` is on it; fails with `what` after a minute. */
async function reloadUntil(page, path, locator, what) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await goto(page, path);
    if ((await locator.count()) > 0) return;
    assert.ok(Date.now() < deadline, what);
    await page.waitForTimeout(1000);
  }
}

/** Checks that `page` got `status` for its last navigation. */
async function goto(page, path, status = 200) {
  const response = await page.goto(path);
  assert.equal(response.status(), status, `status of ${path}`);
}

// Each page: who looks at it, and how they get there (with what the page must show).
const LATVIAN_PAGES = [
  ['sign-in page', 'anonymous', (page) => goto(page, '/login')],
  ['password change page', 'anonymous', (page) => goto(page, '/password')],
  [
    'sign-in page after a wrong password',
    'anonymous',
    async (page) => {
      await goto(page, '/login');
      await page.getByLabel('Lietotājvārds', { exact: true }).fill('vdi-requester');
      await page.getByLabel('Parole', { exact: true }).fill('nepareiza parole');
      await page.getByRole('button', { name: 'Pieslēgties', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: TEXT.lv.wrongCredentials }).waitFor();
    },
  ],
  ['catalog', 'vdi-requester', (page) => goto(page, '/catalog')],
  ['catalog search', 'vdi-requester', (page) => goto(page, '/catalog?q=datu&category=')],
  ['catalog item (DMS)', 'vdi-requester', (page) => goto(page, '/catalog/dms')],
  ['order form', 'vdi-requester', (page) => goto(page, '/catalog/dms/order?plan=small')],
  [
    'order form with a validation error',
    'vdi-requester',
    async (page) => {
      await reviewOrder(page, 'Nederīgs Nosaukums!');
      await page.getByRole('alert').filter({ hasText: 'Lūdzu, izlabojiet atzīmētos laukus.' }).waitFor();
      assert.equal(await page.getAttribute('#instance', 'aria-invalid'), 'true');
    },
  ],
  [
    'order review',
    'vdi-requester',
    async (page) => {
      await reviewOrder(page, `parskats-${RUN}`);
      await page.getByRole('heading', { level: 1, name: 'Pārbaudiet pasūtījumu' }).waitFor();
    },
  ],
  ['my requests', 'vdi-requester', (page) => goto(page, '/requests')],
  ['own request awaiting approval', 'vdi-requester', async (page) => goto(page, `/requests/${await pendingRequest()}`)],
  ['my services', 'vdi-requester', (page) => goto(page, '/services')],
  ['service page', 'vdi-requester', (page) => goto(page, '/services/vdi/vdi-is')],
  ['API tokens', 'vdi-requester', (page) => goto(page, '/tokens')],
  [
    'API tokens with a new token shown once',
    'vdi-requester',
    async (page) => {
      await goto(page, '/tokens');
      await page.getByRole('textbox', { name: 'Nosaukums' }).fill(`skripts-${RUN}`);
      await page.getByRole('button', { name: 'Izveidot pilnvaru' }).click();
      await page.locator('code.secret').waitFor();
    },
  ],
  ['not found (404)', 'vdi-requester', (page) => goto(page, '/catalog/nav-tada', 404)],
  ['forbidden (403)', 'vdi-requester', (page) => goto(page, '/admin/agencies', 403)],
  ['SLA report', 'vdi-requester', (page) => goto(page, '/reports/sla')],
  ['approvals inbox', 'vdi-approver', (page) => goto(page, '/approvals')],
  [
    'request with the approve form',
    'vdi-approver',
    async (page) => {
      await goto(page, `/requests/${await pendingRequest()}`);
      await page.getByRole('button', { name: 'Apstiprināt', exact: true }).waitFor();
    },
  ],
  ['agencies (admin)', 'admin', (page) => goto(page, '/admin/agencies')],
  ['an agency\u2019s people and groups (admin)', 'admin', (page) => goto(page, '/agencies/vdi/people')],
  ['adding a person (admin)', 'admin', (page) => goto(page, '/agencies/vdi/new-person')],
  ['published catalog (admin)', 'admin', (page) => goto(page, '/admin/items')],
  ['audit trail (admin)', 'admin', (page) => goto(page, '/audit')],
  ['all requests (admin)', 'admin', (page) => goto(page, '/requests')],
  ['approvals (admin)', 'admin', (page) => goto(page, '/approvals')],
  ['SLA report (admin)', 'admin', (page) => goto(page, '/reports/sla')],
  ['security logs search (platform security group)', 'security', (page) => goto(page, '/security')],
  ['security logs search with a refused field', 'security', (page) => goto(page, '/security?ip=10.0.0.300', 400)],
  ['log sources (platform security group)', 'security', (page) => goto(page, '/security/sources')],
  ['security log report (agency security officer)', 'vdi-security', (page) => goto(page, '/security/report')],
  ['security alerts (agency security officer)', 'vdi-security', (page) => goto(page, '/security/alerts')],
  ['security alerts with a refused filter', 'security', (page) => goto(page, '/security/alerts?level=severe', 400)],
  ['security incidents (platform security group)', 'security', (page) => goto(page, '/security/incidents')],
];

const ENGLISH_PAGES = [
  ['sign-in page', 'anonymous', (page) => goto(page, '/login')],
  [
    'sign-in page after a wrong password',
    'anonymous',
    async (page) => {
      await goto(page, '/login');
      await page.getByLabel('Username', { exact: true }).fill('vdi-approver');
      await page.getByLabel('Password', { exact: true }).fill('wrong password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: TEXT.en.wrongCredentials }).waitFor();
    },
  ],
  ['catalog', 'vdi-requester', (page) => goto(page, '/catalog')],
  ['catalog item (DMS)', 'vdi-requester', (page) => goto(page, '/catalog/dms')],
  [
    'order form with a validation error',
    'vdi-requester',
    async (page) => {
      await reviewOrder(page, 'Not A Name!', 'en');
      await page.getByRole('alert').filter({ hasText: 'Please correct the marked fields.' }).waitFor();
    },
  ],
  [
    'order review',
    'vdi-requester',
    async (page) => {
      await reviewOrder(page, `review-${RUN}`, 'en');
      await page.getByRole('heading', { level: 1, name: 'Check your order' }).waitFor();
    },
  ],
  ['my services', 'vdi-requester', (page) => goto(page, '/services')],
  ['service page', 'vdi-requester', (page) => goto(page, '/services/vdi/vdi-is')],
  ['not found (404)', 'vdi-requester', (page) => goto(page, '/catalog/no-such-item', 404)],
  [
    'request with the approve form',
    'vdi-approver',
    async (page) => {
      await goto(page, `/requests/${await pendingRequest()}`);
      await page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
    },
  ],
  ['agencies (admin)', 'admin', (page) => goto(page, '/admin/agencies')],
  ['audit trail (admin)', 'admin', (page) => goto(page, '/audit')],
  ['SLA report (admin)', 'admin', (page) => goto(page, '/reports/sla')],
  ['security logs search (platform security group)', 'security', (page) => goto(page, '/security')],
  ['log sources (agency security officer)', 'vdi-security', (page) => goto(page, '/security/sources')],
  ['security log report (platform security group)', 'security', (page) => goto(page, '/security/report')],
  ['security alerts (platform security group)', 'security', (page) => goto(page, '/security/alerts')],
  ['security incidents (agency security officer)', 'vdi-security', (page) => goto(page, '/security/incidents')],
];

describe('accessibility in Latvian: axe (no serious or critical), one h1, skip link, lang="lv"', () => {
  for (const [name, who, visit] of LATVIAN_PAGES) {
    test(`${name} (${who})`, async (t) => {
      const page = await pageOf(who, 'lv');
      await visit(page);
      await checkPage(page, 'lv', t);
    });
  }
  test('an unknown address shows the portal\u2019s own 404 page', async (t) => {
    const page = await pageOf('vdi-requester', 'lv');
    await goto(page, '/no-such-page', 404);
    await checkPage(page, 'lv', t);
  });
});

describe('accessibility in English (chosen with the header\u2019s switch): axe, one h1, skip link, lang="en"', () => {
  for (const [name, who, visit] of ENGLISH_PAGES) {
    test(`${name} (${who})`, async (t) => {
      const page = await pageOf(who, 'en');
      await visit(page);
      await checkPage(page, 'en', t);
    });
  }
  test('switching back to Latviešu while signed in stays on the same page', async (t) => {
    const page = await pageOf('vdi-requester', 'en');
    await goto(page, '/services');
    await Promise.all([
      page.waitForURL('**/services'),
      page.getByRole('button', { name: TEXT.en.switchLanguage, exact: true }).click(),
    ]);
    await page.getByRole('heading', { level: 1, name: 'Mani pakalpojumi' }).waitFor();
    await checkPage(page, 'lv', t);
  });
});

describe('the SLA report: heading, tables, charts, CSV export, print and PDF', () => {
  // The platform may or may not have measured anything yet: these tests check the
  // report's structure, not its figures (portal/tests/reports.rs checks those).
  const COLUMNS = [
    'Pakalpojums',
    'Mērķis',
    'Pieejamība',
    'Dīkstāve (min)',
    'Pārtraukumi',
    'Garākais pārtraukums (min)',
    'Izpilde',
    'Atlikušais kļūdu budžets',
  ];

  /** What every report shows, with the services it lists or its empty state. */
  async function checkReport(page, { platform }) {
    await page.getByRole('heading', { level: 1, name: /^SLA pārskats: .+, \d{4}\. gada \p{L}+$/u }).waitFor();
    const months = page.getByRole('combobox', { name: 'Mēnesis' }).locator('option');
    assert.equal(await months.count(), 13, 'the current month and the twelve before it');
    assert.match((await months.first().getAttribute('value')) ?? '', /^\d{4}-\d{2}$/);
    const summary = page.getByRole('heading', { level: 2, name: 'Platformas pieejamība' });
    assert.equal(await summary.count(), platform ? 1 : 0, 'the platform summary is for platform staff only');
    const tables = page.locator('table.sla');
    const charts = page.locator('svg[role="img"]');
    if ((await tables.count()) === 0) {
      await page.getByText('Šajā mēnesī nevienam pakalpojumam nebija pakalpojumu līmeņa mērķa.').waitFor();
      assert.equal(await charts.count(), 0, 'no services, no charts');
    } else {
      const headers = await tables.first().locator('thead th').allInnerTexts();
      assert.deepEqual(headers.map((text) => text.trim()), COLUMNS);
      assert.ok((await charts.count()) >= (await tables.count()), 'an availability chart for every table');
      for (const chart of await charts.all()) {
        const label = (await chart.getAttribute('aria-label')) ?? '';
        assert.ok(label.length > 20, 'every chart has a text alternative');
        const title = await chart.evaluate((svg) => svg.querySelector(':scope > title')?.textContent ?? '');
        assert.equal(title, label, 'and the same words as its title');
      }
    }
    await page.getByRole('heading', { level: 2, name: 'Incidenti' }).waitFor();
  }

  test('an agency requester finds it in the menu and sees only their agency', async (t) => {
    const { context, page } = await browser.open();
    await signIn(page, browser, 'vdi-requester');
    await Promise.all([
      page.waitForURL('**/reports/sla'),
      page.getByRole('navigation').getByRole('link', { name: 'SLA pārskats' }).click(),
    ]);
    await checkReport(page, { platform: false });
    const agencies = page.getByRole('combobox', { name: 'Iestāde' }).locator('option');
    assert.deepEqual(await agencies.evaluateAll((options) => options.map((o) => o.value)), ['vdi']);
    await checkPage(page, 'lv', t);
    await goto(page, '/reports/sla?agency=lm', 404);
    await context.close();
  });

  test('a platform administrator sees every agency and the platform summary', async (t) => {
    const page = await pageOf('admin', 'lv');
    await goto(page, '/reports/sla');
    await checkReport(page, { platform: true });
    const agencies = page.getByRole('combobox', { name: 'Iestāde' }).locator('option');
    const values = await agencies.evaluateAll((options) => options.map((o) => o.value));
    assert.equal(values[0], '', '"all agencies" first');
    assert.ok(values.includes('vdi') && values.includes('lm'), `every agency: ${values.join(', ')}`);
    await checkPage(page, 'lv', t);
  });

  test('the CSV link downloads the report as CSV', async () => {
    const { context, page } = await browser.open();
    await signIn(page, browser, 'vdi-requester');
    await goto(page, '/reports/sla');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Lejupielādēt CSV' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^sla-vdi-\d{4}-\d{2}\.csv$/);
    const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const [header] = text.split('\r\n');
    assert.equal(
      header,
      'month,agency,namespace,objective,instance,service,target_percent,availability_percent,downtime_minutes,' +
        'outages,longest_outage_minutes,met,budget_left_percent',
    );
    await context.close();
  });

  test('printing leaves out the menu and the filters, and makes an A4 PDF', async () => {
    const { context, page } = await browser.open();
    await signIn(page, browser, 'admin');
    await goto(page, '/reports/sla');
    assert.ok(await page.getByRole('navigation', { name: 'Galvenā izvēlne' }).isVisible(), 'on screen the menu shows');
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.getByRole('navigation', { name: 'Galvenā izvēlne' }).isVisible(), false, 'printed, it does not');
    assert.equal(await page.locator('form.search').isVisible(), false, 'nor do the filters');
    assert.equal(await page.getByRole('link', { name: 'Lejupielādēt CSV' }).isVisible(), false, 'nor the CSV button');
    assert.ok(await page.getByRole('heading', { level: 1, name: /^SLA pārskats: / }).isVisible(), 'the heading does');
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.length > 2000, `a PDF with content (${pdf.length} bytes)`);
    await context.close();
  });
});

describe('the Security pages: the portal\u2019s own sign-ins found in the SIEM, the sources receiving', () => {
  test('the platform\u2019s security group finds vdi-requester\u2019s sign-ins and the sources\u2019 health', async (t) => {
    const { context, page } = await browser.open();
    await signIn(page, browser, 'vdi-requester');
    const security = await pageOf('security', 'lv');
    await Promise.all([
      security.waitForURL('**/security'),
      security.getByRole('navigation').getByRole('link', { name: 'Drošības žurnāli' }).click(),
    ]);
    // The portal ships its trail to the SIEM every few seconds: search until it is there.
    const rows = security.getByRole('region', { name: 'Drošības notikumi' }).locator('tbody tr');
    const deadline = Date.now() + 60_000;
    for (;;) {
      await goto(security, '/security?user=vdi-requester&action=sign_in');
      if ((await rows.count()) > 0) break;
      assert.ok(Date.now() < deadline, 'vdi-requester\u2019s sign-in reached the SIEM within a minute');
      await security.waitForTimeout(1000);
    }
    const cells = await rows.first().locator('td').allInnerTexts();
    assert.equal(cells[1], '—', 'the portal\u2019s trail is the platform\u2019s, not an agency\u2019s');
    assert.equal(cells[3], 'vdi-requester');
    assert.match(cells[7], /"sign_in"|sign_in/, 'the original record');
    await checkPage(security, 'lv', t);
    await goto(security, '/security/sources');
    const audit = security.locator('tr', { hasText: 'makonis-system/kubernetes-audit' });
    await audit.locator('td.state-receiving').waitFor();
    await context.close();
  });

  test('an agency\u2019s security officer is kept to their agency', async () => {
    const page = await pageOf('vdi-security', 'lv');
    await goto(page, '/security');
    const agencies = page.getByRole('combobox', { name: 'Iestāde' }).locator('option');
    assert.deepEqual(await agencies.evaluateAll((options) => options.map((o) => o.value)), ['', 'vdi']);
    await goto(page, '/security?agency=lm', 404);
  });
});

describe('Security alerts: a ClusterRoleBinding the platform did not ship, worked by the security group', () => {
  test('the alert is found, acknowledged and closed with a verdict, and its incident listed', async (t) => {
    const page = await pageOf('security', 'en');
    const title = 'ClusterRoleBinding created or changed';
    // The SIEM raises it within seconds of the API server's audit event: look until it is there.
    const link = page.getByRole('link', { name: title }).first();
    await reloadUntil(page, '/security/alerts?state=open', link, 'the alert is listed within a minute');
    await Promise.all([page.waitForURL('**/security/alerts/*'), link.click()]);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), title);
    await checkPage(page, 'en', t);
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Acknowledge', exact: true }).click()]);
    assert.match(await page.locator('#alert-state').innerText(), /^Acknowledged/);
    await page.getByRole('radio', { name: 'Benign' }).check();
    await page.getByLabel('Why (optional)').fill('A test of the browser suite');
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Close with this verdict' }).click()]);
    assert.equal(await page.locator('#alert-state').innerText(), 'Closed — Benign');
    const history = await page.locator('#alert-history').innerText();
    assert.match(history, /security \(.+\): acknowledged it/);
    assert.match(history, /closed it — Benign\s+A test of the browser suite/);
    await checkPage(page, 'en', t);
    const incident = page.getByRole('row', { name: new RegExp(title) }).first();
    await reloadUntil(page, '/security/incidents', incident, 'its security incident is listed within a minute');
    await checkPage(page, 'en', t);
  });
});

describe('mobile (375×740): no horizontal page scroll', () => {
  const mobile = new Map();
  async function mobilePage(who) {
    if (!mobile.has(who)) {
      const { page } = await browser.open({ viewport: { width: 375, height: 740 } });
      await signIn(page, browser, who);
      mobile.set(who, page);
    }
    return mobile.get(who);
  }
  const PAGES = [
    ['catalog', 'vdi-requester', (page) => goto(page, '/catalog')],
    ['catalog item (DMS)', 'vdi-requester', (page) => goto(page, '/catalog/dms')],
    ['order form', 'vdi-requester', (page) => goto(page, '/catalog/dms/order?plan=small')],
    ['order form with a validation error', 'vdi-requester', (page) => reviewOrder(page, 'Nederīgs Nosaukums!')],
    ['order review', 'vdi-requester', (page) => reviewOrder(page, `mobilais-${RUN}`)],
    ['request page', 'vdi-requester', async (page) => goto(page, `/requests/${await pendingRequest()}`)],
    ['request page with the approve form', 'vdi-approver', async (page) => goto(page, `/requests/${await pendingRequest()}`)],
    ['service page', 'vdi-requester', (page) => goto(page, '/services/vdi/vdi-is')],
    ['SLA report', 'vdi-requester', (page) => goto(page, '/reports/sla')],
    ['SLA report (admin)', 'admin', (page) => goto(page, '/reports/sla')],
  ];
  for (const [name, who, visit] of PAGES) {
    test(`${name} (${who})`, async () => {
      const page = await mobilePage(who);
      await visit(page);
      await checkNoHorizontalScroll(page);
    });
  }
});

describe('keyboard on the sign-in page', () => {
  /** What has the focus: its tag, id or class, and its text or label. */
  const focused = (page) =>
    page.evaluate(() => {
      const e = document.activeElement;
      return {
        tag: e.tagName.toLowerCase(),
        id: e.id,
        className: e.className,
        text: (e.textContent || '').trim(),
        inViewport: (() => {
          const box = e.getBoundingClientRect();
          return box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0 && box.right <= innerWidth;
        })(),
      };
    });

  test('Tab reaches the skip link first, then the header, then the form fields in order', async () => {
    const { page } = await browser.open();
    await goto(page, '/login');
    await page.keyboard.press('Tab');
    const first = await focused(page);
    assert.equal(first.className, 'skip-link', 'the skip link is focused first');
    assert.equal(first.text, 'Pāriet uz saturu');
    assert.ok(first.inViewport, 'the focused skip link is visible');
    const order = [];
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      const now = await focused(page);
      order.push(now.id || now.text || now.tag);
      if (now.tag === 'button' && now.text === 'Pieslēgties') break;
    }
    const fields = order.slice(order.indexOf('username'));
    assert.deepEqual(fields, ['username', 'password', 'Pieslēgties'], `tab order after the skip link: ${order.join(' → ')}`);
    assert.ok(order.indexOf('username') <= 2, `only the header's brand link and language switch come first: ${order.join(' → ')}`);
  });

  test('the skip link moves the focus to the content; typing and Enter sign in', async () => {
    const { context, page } = await browser.open();
    await goto(page, '/login');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal((await focused(page)).id, 'main', 'Enter on the skip link focuses <main>');
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).id, 'username', 'the next Tab reaches the user name');
    await page.keyboard.type('vdi-requester');
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).id, 'password');
    await page.keyboard.type(browser.password('vdi-requester'));
    await Promise.all([page.waitForURL('**/catalog'), page.keyboard.press('Enter')]);
    await checkStructure(page, 'lv');
    assert.match(await page.locator('.session').innerText(), /Valsts darba inspekcija: pieprasītājs/);
    // The session cookie is __Host- prefixed and carries Secure, and Chromium keeps it on
    // http://127.0.0.1 (a potentially trustworthy origin), which is why signing in works
    // at all here.
    const session = (await context.cookies(BASE_URL)).find((c) => c.name === '__Host-makonis_session');
    assert.ok(session, 'the __Host- session cookie is kept');
    assert.equal(session.secure, true, 'the session cookie is Secure');
    assert.equal(session.httpOnly, true, 'the session cookie is HttpOnly');
    assert.equal(session.path, '/', 'the session cookie is for the whole portal');
  });
});

describe('no external requests', () => {
  test('every request of every page above went to the portal itself', async (t) => {
    assert.ok(browser.requests.length > 100, `requests were recorded (${browser.requests.length})`);
    const outside = browser.requests.filter((r) => new URL(r.url).origin !== ORIGIN);
    assert.deepEqual(
      outside.map((r) => `${r.url} (from ${r.page})`),
      [],
      `requests to other origins than ${ORIGIN}`,
    );
    t.diagnostic(`${browser.requests.length} requests, all to ${ORIGIN}`);
  });

  test('no page had an uncaught script error', async () => {
    assert.deepEqual(browser.scriptErrors.map((e) => `${e.message} (on ${e.page})`), []);
  });
});
