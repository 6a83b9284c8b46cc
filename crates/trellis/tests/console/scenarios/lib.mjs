// Shared helpers of the console scenarios. Run by the Rust tests (`tests/console/browser.rs`)
// with `node SCENARIO.mjs`; they pass everything in the environment:
//   BASE_URL, ADMIN_TOKEN, API_TOKEN, CHROMIUM (executable), NODE_MODULES (playwright-core,
//   axe-core), PROFILES (a fresh directory for user-data-dirs), SCREENSHOTS (output directory)
// and the scenario's own ids. A scenario prints `step NAME` lines the test reacts to, and exits
// 0 when every check held (a failed check throws: exit 1 with the reason on stderr).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const require = createRequire(path.join(env('NODE_MODULES'), 'x.js'));
const { chromium } = require('playwright-core');

export const BASE = env('BASE_URL');
export const ADMIN = () => env('ADMIN_TOKEN');
export const USER = () => env('API_TOKEN');
export const WAIT = 60_000;
export { env };

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let profiles = 0;
/** A browser with a fresh user-data-dir; options of launchPersistentContext. */
export async function browser(options = {}) {
  const dir = path.join(env('PROFILES'), `profile-${process.pid}-${profiles++}`);
  fs.mkdirSync(dir, { recursive: true });
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: env('CHROMIUM'), headless: true, args: FLAGS,
    viewport: { width: 1280, height: 900 }, ...options,
  });
  ctx.setDefaultTimeout(WAIT);
  const page = ctx.pages()[0] ?? await ctx.newPage();
  return { ctx, page };
}

export function step(name) {
  console.log(`step ${name}`);
}

export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/** Signs in through the form; ends on the page it was sent to. */
export async function signIn(page, token, next = '/tendrils') {
  await page.goto(`${BASE}/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
}

export async function screenshot(page, name) {
  fs.mkdirSync(env('SCREENSHOTS'), { recursive: true });
  await page.screenshot({ path: path.join(env('SCREENSHOTS'), `${name}.png`), fullPage: true });
}

/** axe-core on the page: throws on any serious or critical violation. */
export async function axe(page, name) {
  const source = fs.readFileSync(path.join(env('NODE_MODULES'), 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe found serious/critical violations on ${name}: ${JSON.stringify(bad, null, 1)}`);
  return result;
}

/** No horizontal scroll at the current viewport. */
export async function noHorizontalScroll(page, name) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  check(scroll <= width, `${name} scrolls sideways at ${width} px: ${scroll} px wide`);
}

/** Waits until `fn(arg)` is true in the page, with a message on timeout. */
export async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT, polling: 100 });
  } catch (e) {
    throw new Error(`timed out waiting for ${what} on ${page.url()}: ${e.message}`);
  }
}

/** Runs a scenario: its exit code says whether it held. */
export async function run(main) {
  try {
    await main();
    console.log('ok');
    process.exit(0);
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  }
}
