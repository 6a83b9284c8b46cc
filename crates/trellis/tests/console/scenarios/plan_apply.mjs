// A PLAN's page shows its changes (counts and table) and cost; "Apply this plan" submits the
// APPLY, whose page shows it succeed with its outputs. Prints `step applied JOB_ID`.
import { browser, signIn, step, until, check, screenshot, USER, env, run } from './lib.mjs';

run(async () => {
  const plan = env('PLAN_JOB_ID');
  const { ctx, page } = await browser();
  await signIn(page, USER(), `/jobs/${plan}`);
  const counts = await page.locator('#change-counts').innerText();
  check(counts.includes('1 to create') && counts.includes('0 to update') && counts.includes('0 to delete'), `counts: ${counts}`);
  check((await page.locator('#changes').innerText()).includes('terraform_data.vine'), 'the change table');
  check((await page.locator('#changes').innerText()).includes('create'), 'the action');
  check((await page.locator('#cost-total').innerText()).includes('30.368'), 'the cost estimate');
  await screenshot(page, 'plan');
  await page.getByRole('button', { name: 'Apply this plan' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/jobs/') && !u.pathname.endsWith(plan));
  const apply = new URL(page.url()).pathname.split('/')[2];
  await until(page, 'the APPLY to succeed', () => document.querySelector('#job-summary')?.dataset.status === 'SUCCESS');
  await until(page, 'the outputs', () => !!document.querySelector('#outputs'));
  check((await page.locator('#outputs').innerText()).includes('grapes'), 'the output value');
  await screenshot(page, 'apply');
  step(`applied ${apply}`);
  await ctx.close();
});
