// A signed-out visitor is sent to sign in (and back after it); a user without the admin role
// sees no register or remove control.
import { browser, signIn, check, screenshot, BASE, USER, ADMIN, run } from './lib.mjs';

run(async () => {
  const { ctx, page } = await browser();
  await page.goto(`${BASE}/jobs?status=FAILED`);
  check(new URL(page.url()).pathname === '/sign-in', `signed out → ${page.url()}`);
  await screenshot(page, 'sign-in');
  await page.getByLabel('API token').fill(USER());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/jobs?status=FAILED');
  await page.goto(`${BASE}/tendrils`);
  await page.locator('#workers').waitFor();
  check(await page.locator('#register-h').count() === 0, 'no register form for a user');
  check(await page.getByRole('button', { name: /^Remove/ }).count() === 0, 'no remove button for a user');
  await screenshot(page, 'tendrils-user');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in');
  await page.goto(`${BASE}/tendrils`);
  check(new URL(page.url()).pathname === '/sign-in', 'signed out again after sign-out');
  await ctx.close();

  const admin = await browser();
  await signIn(admin.page, ADMIN(), '/tendrils');
  check(await admin.page.locator('#register-h').count() === 1, 'an admin sees the register form');
  check(await admin.page.getByRole('button', { name: /^Remove/ }).count() > 0, 'an admin sees remove');
  await admin.ctx.close();
});
