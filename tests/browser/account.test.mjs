// The account page in headless Chromium: a user sees where they are signed in, signs out
// another browser, and removes an app's access. Along the way axe-core checks the login,
// consent, account, dashboard and console pages for WCAG 2 A/AA violations, and
// screenshots of the login, account and dashboard pages are saved at phone and desktop
// widths under target/screenshots/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { assertAccessible } from "./axe.mjs";
import { cli, freePort, latchkeyEnv, startLatchkey, startRelyingParty } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];
const SCREENSHOTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../target/screenshots");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";


/** Saves the page at phone and desktop widths, whole. */
async function screenshots(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [size, viewport] of [["phone", PHONE], ["desktop", DESKTOP]]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

test("a user signs out another session and removes an app; the pages pass axe", { timeout: 180_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  cli(world, ["user", "add", "root", "--admin", "--password-stdin"], "root password 123\n");
  cli(world, ["user", "add", "alice", "--name", "Alice Liddell", "--password-stdin"], "alice password 456\n");
  const rpPort = await freePort();
  const secret = "s".repeat(40);
  cli(world, ["client", "add", "shop", "--name", "The Shop", "--redirect-uri", `http://localhost:${rpPort}/callback`,
    "--scope", "openid,profile", "--secret-stdin"], `${secret}\n`);
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const rp = await startRelyingParty({ issuer, clientId: "shop", clientSecret: secret, port: rpPort, scope: "openid profile" });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    // Alice signs in to the shop from her laptop: the login and consent pages.
    const laptop = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    laptop.on("dialog", (dialog) => dialog.accept());
    await laptop.goto(`${rp.base}/start`);
    await laptop.waitForURL(/\/login\?request=/);
    await assertAccessible(laptop, "the login page");
    await screenshots(laptop, "login");
    await laptop.fill("#username", "alice");
    await laptop.fill("#password", "alice password 456");
    await Promise.all([laptop.waitForURL(/\/consent\?/), laptop.click("button[type=submit]")]);
    await assertAccessible(laptop, "the consent page");
    await Promise.all([laptop.waitForURL(`${rp.base}/callback**`), laptop.click("button[value=allow]")]);

    // ...and on another browser.
    const other = await (await browser.newContext({ userAgent: LINUX_FIREFOX })).newPage();
    await other.goto(`${issuer}/login`);
    await other.fill("#username", "alice");
    await other.fill("#password", "alice password 456");
    await Promise.all([other.waitForURL(`${issuer}/account`), other.click("button[type=submit]")]);

    // The laptop's account page lists both sessions and the shop.
    await laptop.goto(`${issuer}/account`);
    const sessions = laptop.locator("#sessions li.session");
    assert.equal(await sessions.count(), 2);
    assert.match(await laptop.textContent("#sessions li.session.current"), /This device/);
    assert.match(await laptop.textContent("#sessions"), /Firefox on Linux/);
    assert.match(await laptop.textContent("#apps"), /The Shop/);
    await assertAccessible(laptop, "the account page");
    await screenshots(laptop, "account");

    // Signing out the other browser: it gets the login page.
    const otherSession = laptop.locator("#sessions li.session", { hasText: "Firefox on Linux" });
    await Promise.all([laptop.waitForURL(`${issuer}/account?done=session#sessions`), otherSession.locator("text=Sign out").click()]);
    assert.equal(await laptop.locator("#sessions li.session").count(), 1);
    assert.match(await laptop.textContent("[role=status]"), /That session is signed out/);
    await other.goto(`${issuer}/account`);
    assert.equal(other.url(), `${issuer}/login?next=%2Faccount`);
    assert.ok(await other.isVisible("#password"), "the login page");

    // Removing the shop's access.
    await Promise.all([laptop.waitForURL(`${issuer}/account?done=app#apps`), laptop.locator("#apps").locator("text=Remove access").click()]);
    assert.doesNotMatch(await laptop.textContent("#apps"), /The Shop/);
    assert.match(await laptop.textContent("#apps"), /No app has access/);

    // The admin goes to the dashboard, signs in, and lands on it.
    const admin = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await admin.goto(`${issuer}/admin`);
    assert.equal(admin.url(), `${issuer}/login?next=%2Fadmin`);
    await admin.fill("#username", "root");
    await admin.fill("#password", "root password 123");
    await Promise.all([admin.waitForURL(`${issuer}/admin`), admin.click("button[type=submit]")]);
    assert.equal(await admin.textContent("#count-users a"), "2", "root and alice");
    assert.equal(await admin.textContent("#count-sessions"), "3", "alice twice, root once");
    await assertAccessible(admin, "the dashboard");
    await screenshots(admin, "dashboard");
    for (const path of ["/admin/users", "/admin/groups", "/admin/clients", "/admin/clients/shop", "/admin/apis", "/admin/keys", "/admin/audit"]) {
      await admin.goto(`${issuer}${path}`);
      await assertAccessible(admin, `the console page ${path}`);
    }
    // The Connect your app panel offers its values with copy buttons.
    await admin.goto(`${issuer}/admin/clients/shop`);
    assert.equal((await admin.textContent("#connect-issuer")).trim(), issuer);
    assert.match(await admin.textContent("#recipe-authlib"), /client_id="shop"/);
  } finally {
    rp.close();
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
});
