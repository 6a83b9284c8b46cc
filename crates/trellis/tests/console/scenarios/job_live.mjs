// A running job's page shows its log lines as they arrive (stdout, stderr and system lines
// told apart, ANSI colours rendered) and its final status, without a reload.
// Steps: `first` (the first lines are on the page; the test lets the job go on).
import { browser, signIn, step, until, check, screenshot, USER, env, run } from './lib.mjs';

run(async () => {
  const job = env('JOB_ID');
  const { ctx, page } = await browser();
  await signIn(page, USER(), `/jobs/${job}`);
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  const log = page.locator('#log');
  await until(page, 'the first line', () => [...document.querySelectorAll('#log li .tx')]
    .some((t) => t.textContent.includes('first line')));
  step('first');
  await until(page, 'the last line to arrive live', () => [...document.querySelectorAll('#log li .tx')]
    .some((t) => t.textContent.includes('last line')));
  await until(page, 'the final status', () => document.querySelector('#job-summary')?.dataset.status === 'SUCCESS');
  check(await page.locator('#job-summary .badge').first().textContent() === 'SUCCESS', 'SUCCESS in words');
  check(await log.locator('li.l-stderr .tx', { hasText: 'to stderr' }).count() === 1, 'stderr line marked');
  check(await log.locator('li.l-system').count() > 0, 'system lines marked');
  check(await log.locator('span.a-f1', { hasText: 'red' }).count() === 1, 'ANSI red rendered');
  check(!(await log.innerText()).includes('\u001b'), 'no raw escape shown');
  check(await page.locator('#jump-end').count() === 1, 'jump to the end');
  check(await page.locator('a[href$="/log.txt"]').count() === 1, 'download link');
  await screenshot(page, 'job-live');
  check(navigations === 0, `the page navigated ${navigations} time(s)`);
  // Search runs on the server over the whole log.
  await page.getByLabel('Search the whole log (on the server)').fill('TO STDERR');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#search-results').waitFor();
  check((await page.locator('#search-results').innerText()).includes('searched on the server'), 'search says where');
  await ctx.close();
});
