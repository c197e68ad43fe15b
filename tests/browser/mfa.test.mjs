// Two-step sign-in in headless Chromium: a user sets up an authenticator app on /account
// (the test reads the key shown for manual entry and computes the codes itself, as an
// app would), receives ten recovery codes, then signs in with the password and a code.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238: HMAC-SHA1 over the 30 s step, 6 digits. */
function totp(secret, seconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = crypto.createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

test("a user sets up an authenticator app and signs in with a password and a code", { timeout: 120_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  cli(world, ["user", "add", "carol", "--password-stdin"], "carol password 789\n");
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${issuer}/login`);
    await page.fill("#username", "carol");
    await page.fill("#password", "carol password 789");
    await Promise.all([page.waitForURL(`${issuer}/account`), page.click("button[type=submit]")]);
    await Promise.all([page.waitForURL(`${issuer}/account/mfa/totp/start`), page.click("text=Set up an authenticator app")]);
    assert.equal(await page.locator(".qr svg").count(), 1, "the QR code is drawn on the page");
    const secret = (await page.textContent("#totp-secret")).trim();
    const now = Date.now() / 1000;
    await page.fill("#code", totp(secret, now));
    await Promise.all([page.waitForURL(`${issuer}/account/mfa/totp/confirm`), page.click("text=Turn on")]);
    assert.equal(await page.locator("#recovery-codes li").count(), 10);
    await page.goto(`${issuer}/account`);
    assert.equal((await page.textContent("#recovery-codes-left")).trim(), "10");

    // A new browser: the password, then the code (the next step's: the enrollment spent this one).
    const other = await (await browser.newContext()).newPage();
    await other.goto(`${issuer}/login`);
    await other.fill("#username", "carol");
    await other.fill("#password", "carol password 789");
    await Promise.all([other.waitForURL(`${issuer}/login/mfa`), other.click("button[type=submit]")]);
    assert.ok(await other.isVisible("text=Use a recovery code"));
    await other.fill("#code", totp(secret, now + 30));
    await Promise.all([other.waitForURL(`${issuer}/account`), other.click("text=Verify")]);
    assert.match(await other.textContent("#mfa-status"), /On/);
  } finally {
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
});

test("an admin without a second factor sets one up before the console opens", { timeout: 120_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  world.env.LATCHKEY_MFA__REQUIRED_FOR_ADMINS = "true";
  cli(world, ["user", "add", "root", "--admin", "--password-stdin"], "root password 123\n");
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${issuer}/login`);
    await page.fill("#username", "root");
    await page.fill("#password", "root password 123");
    await Promise.all([page.waitForURL(`${issuer}/account`), page.click("button[type=submit]")]);

    // A password is not enough for the console: the admin is offered an authenticator app.
    await page.goto(`${issuer}/admin`);
    assert.equal(new URL(page.url()).pathname, "/login/step-up");
    assert.equal(await page.locator("h1").textContent(), "Set up a second sign-in step");
    await Promise.all([page.waitForURL(`${issuer}/account/mfa/totp/start`), page.click("text=Set up an authenticator app")]);
    const secret = (await page.textContent("#totp-secret")).trim();
    await page.fill("#code", totp(secret, Date.now() / 1000));
    await Promise.all([page.waitForURL(`${issuer}/account/mfa/totp/confirm`), page.click("text=Turn on")]);
    assert.equal(await page.locator("#recovery-codes li").count(), 10, "the recovery codes are shown before going on");
    await Promise.all([page.waitForURL(`${issuer}/admin`), page.click("#continue")]);
    assert.equal(await page.locator("h1").textContent(), "Dashboard");
  } finally {
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
});
