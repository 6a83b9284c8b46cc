// Cloud identities through the console: a GCP and an Azure identity added with their forms show
// in the list; "Test connection" and "Refresh resources" run on a real tendril (against the
// strict GCP and Azure fakes) and the identity page then shows the discovery as tables; axe-core
// and 375 px on these pages, with the add forms open.
// Steps: `gcp ID`, `azure ID` (the identities the forms made).
import { browser, signIn, step, until, check, screenshot, axe, noHorizontalScroll, BASE, USER, run } from './lib.mjs';

async function addThroughForm(page, details, fields) {
  await page.goto(`${BASE}/identities`);
  const form = page.locator(`#${details}`);
  await form.locator('summary').click();
  for (const [label, value] of fields) {
    const field = form.getByLabel(label, { exact: true });
    if (await field.evaluate((e) => e.tagName) === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
  }
  await form.getByRole('button', { name: /^Add / }).click();
  await page.waitForURL(/\/identities\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname.split('/').pop();
}

/** Presses `button` on an identity page; waits on its job's page until it ended SUCCESS. */
async function runJob(page, button) {
  await page.getByRole('button', { name: button }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  await until(page, `the job of "${button}" to end`,
    () => document.querySelector('#job-summary')?.dataset.terminal === '1');
  const status = await page.evaluate(() => document.querySelector('#job-summary').dataset.status);
  check(status === 'SUCCESS', `"${button}" ended ${status}: ${await page.locator('main').innerText()}`);
}

async function tableHas(page, id, texts) {
  const text = await page.locator(`#${id}`).innerText();
  for (const t of texts) check(text.includes(t), `#${id} shows ${t}: ${text}`);
}

run(async () => {
  const { ctx, page } = await browser();
  await signIn(page, USER(), '/identities');
  check(await page.locator('#no-identities').count() === 1, 'no identity yet');

  const gcp = await addThroughForm(page, 'add-gcp', [
    ['Name', 'acme gcp'], ['Project id', 'acme-prod'], ['Project number', '123456789012'],
    ['Workload identity pool provider (audience)',
      '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws'],
    ['Service account to impersonate (optional)', 'vintner@acme-prod.iam.gserviceaccount.com'],
    ['Subject token of the worker', 'aws'],
  ]);
  step(`gcp ${gcp}`);
  check((await page.locator('#no-discovery').innerText()).includes('No discovery cached yet'), 'nothing cached yet');
  await runJob(page, 'Test connection');
  await page.goto(`${BASE}/identities/${gcp}`);
  check((await page.locator('#discovery-meta').innerText()).includes('project acme-prod'), 'the project');
  await tableHas(page, 'd-networks', ['default', 'net-1']);
  await tableHas(page, 'd-subnets', ['net-1-europe-west1', '10.1.0.0/20']);
  await tableHas(page, 'd-zones', ['z1.example.com']);
  await tableHas(page, 'd-caller', ['vintner@acme-prod.iam.gserviceaccount.com']);
  await runJob(page, 'Refresh resources');
  await page.goto(`${BASE}/identities/${gcp}`);
  await tableHas(page, 'd-subnets', ['net-2-us-central1', 'default-us-central1']);
  await screenshot(page, 'identity-gcp');

  const azure = await addThroughForm(page, 'add-azure', [
    ['Name', 'acme azure'], ['Tenant (directory) id', '11111111-2222-3333-4444-555555555555'],
    ['Application (client) id', '66666666-7777-8888-9999-000000000000'],
    ['Subscription id', 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'], ['Client assertion of the worker', 'file'],
  ]);
  step(`azure ${azure}`);
  await runJob(page, 'Test connection');
  await page.goto(`${BASE}/identities/${azure}`);
  check((await page.locator('#discovery-meta').innerText()).includes('subscription aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'), 'the subscription');
  await tableHas(page, 'd-networks', ['vnet-1', '10.1.0.0/16']);
  await tableHas(page, 'd-subnets', ['nodes', 'pods', '10.1.1.0/24']);
  await tableHas(page, 'd-zones', ['z1.example.com', 'internal.example']);
  await screenshot(page, 'identity-azure');

  await page.goto(`${BASE}/identities`);
  const rows = page.locator('#identities tbody tr');
  check(await rows.count() === 2, 'both identities listed');
  const gcpRow = await page.locator(`tr[data-identity-id="${gcp}"]`).innerText();
  check(gcpRow.includes('acme gcp') && gcpRow.includes('GCP') && gcpRow.includes('acme-prod'), `the GCP row: ${gcpRow}`);
  const azureRow = await page.locator(`tr[data-identity-id="${azure}"]`).innerText();
  check(azureRow.includes('acme azure') && azureRow.includes('Azure'), `the Azure row: ${azureRow}`);
  check(!gcpRow.includes('never') && !azureRow.includes('never'), 'both have a discovery fetch time');
  await ctx.close();

  // axe-core (forms open) and 375 px on these pages.
  const desk = await browser({ bypassCSP: true });
  await signIn(desk.page, USER(), '/identities');
  const phone = await browser({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
  await signIn(phone.page, USER(), '/identities');
  const open = (p) => p.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  for (const [name, path] of [['identities-forms', '/identities'], ['identity-gcp', `/identities/${gcp}`],
    ['identity-azure', `/identities/${azure}`]]) {
    await desk.page.goto(BASE + path);
    await open(desk.page);
    await axe(desk.page, name);
    await phone.page.goto(BASE + path);
    await open(phone.page);
    await noHorizontalScroll(phone.page, name);
    await screenshot(phone.page, `phone-${name}`);
  }
  await Promise.all([desk.ctx.close(), phone.ctx.close()]);
});
