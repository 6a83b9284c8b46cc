// The Tendrils page follows a worker live, in the same DOM row and without any navigation:
// registered (OFFLINE, never seen) → ONLINE with its job → DRAINING on SIGTERM → OFFLINE.
// Steps: `page` (the test starts the tendril), `online` (the test sends SIGTERM), `draining`
// (the test lets the job finish).
import { browser, signIn, step, until, check, screenshot, ADMIN, env, run } from './lib.mjs';

run(async () => {
  const worker = env('WORKER_ID');
  const { ctx, page } = await browser();
  await signIn(page, ADMIN(), '/tendrils');
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  const row = page.locator(`tr[data-worker-id="${worker}"]`);
  await row.waitFor();
  const handle = await row.elementHandle();
  await page.evaluate((r) => { r.dataset.marker = 'first-row'; }, handle);
  const status = () => page.evaluate((r) => r.isConnected && r.dataset.marker === 'first-row'
    ? r.querySelector('.w-status .badge').dataset.status : 'DETACHED', handle);
  check(await status() === 'OFFLINE', `a worker never seen starts OFFLINE, not ${await status()}`);
  step('page');

  const waitStatus = async (want) => {
    await until(page, `the row to say ${want}`, ([r, w]) => r.isConnected
      && r.querySelector('.w-status .badge').dataset.status === w, [handle, want]);
  };
  await waitStatus('ONLINE');
  await until(page, 'the current job link', (r) => !!r.querySelector('.w-job a'), handle);
  check(/ago$/.test(await page.evaluate((r) => r.querySelector('.w-heartbeat').textContent.trim(), handle)),
    'the last heartbeat reads "… ago"');
  check((await page.evaluate((r) => r.querySelector('.w-version').textContent, handle)).trim() !== '—', 'the version is shown');
  await screenshot(page, 'tendrils-online');
  step('online');

  await waitStatus('DRAINING');
  await screenshot(page, 'tendrils-draining');
  step('draining');

  await waitStatus('OFFLINE');
  await until(page, 'no current job', (r) => !r.querySelector('.w-job a'), handle);
  await screenshot(page, 'tendrils-offline');
  check(navigations === 0, `the page navigated ${navigations} time(s)`);
  check(await status() === 'OFFLINE', 'the same DOM row says OFFLINE');
  await ctx.close();
});
