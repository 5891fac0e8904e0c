// Checks run inside a page: axe-core's accessibility rules, the page's structure (one
// h1, a working skip link, the document's language) and horizontal scrolling.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Impacts that fail a page; moderate and minor findings are reported, not failed. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);

/** Formats axe violations with their nodes, for a failure message or a diagnostic. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .map((node) => `    - ${node.target.join(' ')}\n      ${node.html}\n      ${node.failureSummary.replace(/\n/g, '\n      ')}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n');
}

/**
 * Runs axe-core (every rule it runs by default: WCAG 2.0–2.2 A and AA, best practices)
 * in `page`. Fails on any serious or critical violation, printing all violations with
 * their nodes; reports moderate and minor ones through `t.diagnostic`.
 */
export async function checkAxe(page, t) {
  // Evaluated through the DevTools protocol: nothing is added to the page's DOM.
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const failing = results.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  const report = describeViolations(results.violations);
  if (failing.length > 0) {
    assert.fail(`axe found ${failing.length} serious or critical violation(s) on ${page.url()}:\n${report}`);
  }
  if (results.violations.length > 0 && t) {
    t.diagnostic(`axe (moderate/minor) on ${page.url()}:\n${report}`);
  }
}

/** Exactly one h1, a skip link to an element that exists, and `<html lang>` is `lang`. */
export async function checkStructure(page, lang) {
  const facts = await page.evaluate(() => {
    const skip = document.querySelector('a.skip-link');
    const href = skip?.getAttribute('href') ?? '';
    const target = href.startsWith('#') ? document.getElementById(decodeURIComponent(href.slice(1))) : null;
    const focusable = document.querySelector('a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]');
    return {
      h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
      skipHref: skip ? href : null,
      skipTarget: target ? target.tagName.toLowerCase() : null,
      skipFirst: focusable === skip,
      lang: document.documentElement.getAttribute('lang'),
      title: document.title,
    };
  });
  assert.equal(facts.h1.length, 1, `exactly one h1 on ${page.url()}, found: ${JSON.stringify(facts.h1)}`);
  assert.ok(facts.skipHref, `a skip link (a.skip-link) on ${page.url()}`);
  assert.ok(facts.skipTarget, `the skip link's target ${facts.skipHref} exists on ${page.url()}`);
  assert.ok(facts.skipFirst, `the skip link is the first focusable element on ${page.url()}`);
  assert.equal(facts.lang, lang, `<html lang> on ${page.url()}`);
  assert.ok(facts.title.trim().length > 0, `a title on ${page.url()}`);
}

/** The structure checks and axe, for a page in language `lang`. */
export async function checkPage(page, lang, t) {
  await checkStructure(page, lang);
  await checkAxe(page, t);
}

/**
 * The page does not scroll sideways: documentElement.scrollWidth <= innerWidth. On
 * failure the message names the elements that stick out.
 */
export async function checkNoHorizontalScroll(page) {
  const facts = await page.evaluate(() => {
    const width = window.innerWidth;
    const outside = [];
    for (const element of document.body.querySelectorAll('*')) {
      const box = element.getBoundingClientRect();
      // Content inside a scrollable region (a wide table) may be wider: that is its job.
      if (box.width > 0 && box.right > width + 0.5 && !element.closest('.table-scroll')) {
        const id = element.id ? `#${element.id}` : '';
        const classes = element.classList.length ? `.${[...element.classList].join('.')}` : '';
        outside.push(`${element.tagName.toLowerCase()}${id}${classes} (right edge ${Math.round(box.right)}px)`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, width, outside: outside.slice(0, 10) };
  });
  assert.ok(
    facts.scrollWidth <= facts.width,
    `${page.url()} scrolls sideways: scrollWidth ${facts.scrollWidth} > innerWidth ${facts.width}; ` +
      `sticking out: ${facts.outside.join(', ') || '(none found)'}`,
  );
}
