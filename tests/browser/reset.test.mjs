// "Forgot your password?" in headless Chromium: the user asks for a link from the login
// page, the test reads the mail the real SMTP server received, follows the link, sets a new
// password and is signed in; the old password no longer works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey } from "./harness.mjs";
import { startSmtp } from "./smtp.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];

test("a user who forgot their password resets it from the login page", { timeout: 120_000 }, async () => {
  const smtp = await startSmtp();
  const world = latchkeyEnv(await freePort());
  world.env.LATCHKEY_SMTP__URL = smtp.url;
  cli(world, ["user", "add", "dora", "--email", "dora@example.com", "--password-stdin"], "old password 123\n");
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${issuer}/login`);
    await Promise.all([page.waitForURL(`${issuer}/password/forgot`), page.click("text=Forgot your password?")]);
    await page.fill("#email", "dora@example.com");
    await Promise.all([page.waitForURL(`${issuer}/password/forgot`), page.click("text=Send the link")]);
    assert.match(await page.textContent("#reset-sent"), /If an account matches/);

    const mail = await smtp.waitFor("dora@example.com");
    const link = mail.body.match(new RegExp(`${issuer}/password/reset\\?token=[A-Za-z0-9_-]+`))[0];
    await page.goto(link);
    await page.fill("#password", "new password 456");
    await Promise.all([page.waitForURL(`${issuer}/account`), page.click("text=Set the password")]);

    // The old password is refused in another browser; the new one works.
    const other = await (await browser.newContext()).newPage();
    await other.goto(`${issuer}/login`);
    await other.fill("#username", "dora");
    await other.fill("#password", "old password 123");
    await other.click("button[type=submit]");
    assert.match(await other.textContent(".error"), /Invalid username or password/);
    await other.fill("#password", "new password 456");
    await Promise.all([other.waitForURL(`${issuer}/account`), other.click("button[type=submit]")]);
  } finally {
    await browser.close();
    latchkey.child.kill("SIGTERM");
    smtp.close();
  }
});
