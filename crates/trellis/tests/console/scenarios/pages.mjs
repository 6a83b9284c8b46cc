// Every page: no serious or critical axe-core violation, no horizontal scroll at 375 px, and
// with JavaScript disabled the content is still there. PAGES is a JSON list of
// {name, path, expect} (a text the page must show).
import { browser, signIn, axe, noHorizontalScroll, screenshot, check, BASE, ADMIN, env, run } from './lib.mjs';

run(async () => {
  const pages = JSON.parse(env('PAGES'));
  // axe is injected with page.evaluate; the CSP stays on for the other runs.
  const desk = await browser({ bypassCSP: true });
  await signIn(desk.page, ADMIN());
  const phone = await browser({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
  await signIn(phone.page, ADMIN());
  const nojs = await browser({ javaScriptEnabled: false });
  await signIn(nojs.page, ADMIN());
  // Folded forms (<details>) are opened, so their fields are checked too.
  const open = (page) => page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  for (const p of pages) {
    await desk.page.goto(BASE + p.path);
    await open(desk.page);
    await axe(desk.page, p.name);
    await phone.page.goto(BASE + p.path);
    await open(phone.page);
    await noHorizontalScroll(phone.page, p.name);
    await screenshot(phone.page, `phone-${p.name}`);
    await nojs.page.goto(BASE + p.path);
    const text = await nojs.page.locator('main').innerText();
    check(text.includes(p.expect), `${p.name} without JavaScript shows "${p.expect}"`);
    await screenshot(nojs.page, `nojs-${p.name}`);
  }
  // The sign-in page too.
  const out = await browser({ bypassCSP: true });
  await out.page.goto(`${BASE}/sign-in`);
  await axe(out.page, 'sign-in');
  await Promise.all([desk.ctx.close(), phone.ctx.close(), nojs.ctx.close(), out.ctx.close()]);
});
