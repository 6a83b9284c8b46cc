// Cancel from a running job's page cancels the job; the page then shows CANCELLED.
import { browser, signIn, until, check, screenshot, USER, env, run } from './lib.mjs';

run(async () => {
  const job = env('JOB_ID');
  const { ctx, page } = await browser();
  await signIn(page, USER(), `/jobs/${job}`);
  await until(page, 'the job to run', () => document.querySelector('#job-summary')?.dataset.status === 'RUNNING');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL(`**/jobs/${job}`);
  await until(page, 'CANCELLED', () => document.querySelector('#job-summary')?.dataset.status === 'CANCELLED');
  check(await page.getByRole('button', { name: 'Retry' }).count() === 1, 'a cancelled job can be retried');
  await screenshot(page, 'job-cancelled');
  await ctx.close();
});
