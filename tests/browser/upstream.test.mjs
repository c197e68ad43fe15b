// Upstream sign-in in headless Chromium: a second Latchkey (on 127.0.0.1) is the upstream
// of the first (on localhost). A user of the relying app clicks "Continue with Corp",
// signs in on the upstream's page, lands back at the app with `amr: ["fed"]`, and finds
// the link on their account page. axe-core checks the login page with its buttons.
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

test("a user signs in to an app through an upstream identity provider", { timeout: 180_000 }, async () => {
  const downPort = await freePort();
  const down = latchkeyEnv(downPort);
  const upPort = await freePort();
  const up = latchkeyEnv(upPort);
  // The upstream on another host name, so the browser keeps the two servers' cookies apart.
  up.env.LATCHKEY_ISSUER = `http://127.0.0.1:${upPort}`;
  up.env.LATCHKEY_PASSKEYS__ENABLED = "false";
  const upstreamSecret = "u".repeat(40);
  cli(up, ["client", "add", "downstream", "--name", "Downstream", "--first-party", "--secret-stdin",
    "--redirect-uri", `http://localhost:${downPort}/login/upstream/corp/callback`, "--scope", "openid,profile,email"], `${upstreamSecret}\n`);
  cli(up, ["user", "add", "dana", "--name", "Dana Scully", "--email", "dana@corp.example", "--password-stdin"], "dana upstream pw\n");

  const rpPort = await freePort();
  const rpSecret = "s".repeat(40);
  cli(down, ["client", "add", "shop", "--name", "The Shop", "--first-party", "--redirect-uri", `http://localhost:${rpPort}/callback`,
    "--scope", "openid,profile", "--secret-stdin"], `${rpSecret}\n`);
  const added = cli(down, ["upstream", "add", "corp", "--display-name", "Corp", "--issuer", `http://127.0.0.1:${upPort}`,
    "--client-id", "downstream", "--secret-stdin", "--auto-create"], `${upstreamSecret}\n`);
  assert.match(added, /login\/upstream\/corp\/callback/);

  const upstream = await startLatchkey(up);
  const latchkey = await startLatchkey(down);
  const rp = await startRelyingParty({ issuer: latchkey.issuer, clientId: "shop", clientSecret: rpSecret, port: rpPort });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${rp.base}/start`);
    await page.waitForURL(/\/login\?request=/);
    await assertAccessible(page, "the login page with an upstream button");
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "login-upstream.png"), fullPage: true });
    await Promise.all([page.waitForURL(`${upstream.issuer}/login**`), page.click("text=Continue with Corp")]);
    await page.fill("#username", "dana");
    await page.fill("#password", "dana upstream pw");
    await Promise.all([page.waitForURL(`${rp.base}/callback**`), page.click("button[type=submit]")]);
    const claims = JSON.parse(await page.textContent("#claims"));
    assert.deepEqual(claims.amr, ["fed"]);
    assert.equal(claims.preferred_username, "dana");
    assert.equal(claims.name, "Dana Scully");

    // The account page shows the linked sign-in.
    await page.goto(`${latchkey.issuer}/account`);
    assert.match(await page.textContent("#upstream-corp"), /Linked/);
    assert.equal(await page.locator("#upstream-corp button", { hasText: "Unlink Corp" }).count(), 1);
    await assertAccessible(page, "the account page with a linked sign-in");
  } finally {
    await browser.close();
    rp.close();
    latchkey.child.kill();
    upstream.child.kill();
  }
});
