// The Jobs page updates live, without navigation: a job submitted while it is open comes in at
// the top as QUEUED, the same DOM row then says RUNNING (with its worker and a counting
// duration) and SUCCESS; a page filtered to QUEUED EXEC jobs drops the row once it runs.
// Steps: `page` (the test submits the job), `queued ID` (the test starts the tendril),
// `running` (the test lets the job finish).
import { browser, signIn, step, until, check, screenshot, BASE, USER, run } from './lib.mjs';

run(async () => {
  const { ctx, page } = await browser();
  await signIn(page, USER(), '/jobs');
  const queued = await ctx.newPage();
  await queued.goto(`${BASE}/jobs?status=QUEUED&type=EXEC`);
  let navigations = 0;
  for (const p of [page, queued]) {
    p.on('framenavigated', (f) => { if (f === p.mainFrame()) navigations++; });
  }
  check(await page.locator('#no-jobs').isVisible(), 'no job yet');
  await until(page, 'the live note', () => !document.getElementById('live-note').hidden);
  step('page');

  await until(page, 'the submitted job to come in', () => document.querySelectorAll('#jobs tbody tr').length === 1);
  check(!(await page.locator('#no-jobs').isVisible()), '"no job" is gone');
  const row = page.locator('#jobs tbody tr');
  const handle = await row.elementHandle();
  const id = await row.getAttribute('data-job-id');
  await page.evaluate((r) => { r.dataset.marker = 'first-row'; }, handle);
  const text = (c) => page.evaluate(([r, sel]) => r.querySelector(sel).textContent.trim(), [handle, c]);
  check(await page.evaluate((r) => r.querySelector('.j-status .badge').dataset.status, handle) === 'QUEUED', 'QUEUED first');
  check(await text('.j-type') === 'EXEC', 'its type');
  check(await text('.j-duration') === 'not started', 'not started');
  check(/ago$/.test(await text('.j-age')), 'its age');
  await until(queued, 'the job on the QUEUED page', (j) => !!document.querySelector(`tr[data-job-id="${j}"]`), id);
  await screenshot(page, 'jobs-live-queued');
  step(`queued ${id}`);

  const waitStatus = async (want) => {
    await until(page, `the row to say ${want}`, ([r, w]) => r.isConnected && r.dataset.marker === 'first-row'
      && r.querySelector('.j-status .badge').dataset.status === w, [handle, want]);
  };
  await waitStatus('RUNNING');
  await until(page, 'its worker', (r) => !!r.querySelector('.j-worker code'), handle);
  await until(page, 'a counting duration', (r) => !!r.querySelector('.j-duration time[data-since]'), handle);
  await until(queued, 'the running job to leave the QUEUED page', (j) => !document.querySelector(`tr[data-job-id="${j}"]`)
    && !document.getElementById('no-jobs').hidden, id);
  await screenshot(page, 'jobs-live-running');
  step('running');

  await waitStatus('SUCCESS');
  await until(page, 'a final duration', (r) => !r.querySelector('.j-duration time')
    && /\d+ s/.test(r.querySelector('.j-duration').textContent), handle);
  check(await page.locator('#jobs tbody tr').count() === 1, 'one row');
  await screenshot(page, 'jobs-live-success');
  check(navigations === 0, `the pages navigated ${navigations} time(s)`);
  await ctx.close();
});
