// The device authorization grant (RFC 8628) in headless Chromium: a "TV" (this test,
// with fetch) asks for a user code; the user opens the verification link, signs in,
// sees the TV's name and allows it; the TV's polling then gets tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];

test("a user confirms a device's sign-in on the /device page", { timeout: 120_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  world.env.LATCHKEY_DEVICE__POLL_INTERVAL_SECS = "1";
  cli(world, ["user", "add", "tess", "--password-stdin"], "tess password 123\n");
  cli(world, ["client", "add", "living-room-tv", "--public", "--grant", "device_code", "--scope", "openid profile", "--name", "Living room TV"]);
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const started = await (await fetch(`${issuer}/device_authorization`, {
      method: "POST",
      body: new URLSearchParams({ client_id: "living-room-tv", scope: "openid profile" }),
    })).json();
    assert.match(started.user_code, /^[B-Z]{4}-[B-Z]{4}$/);
    const poll = async () => {
      const response = await fetch(`${issuer}/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:device_code",
          device_code: started.device_code,
          client_id: "living-room-tv",
        }),
      });
      return { status: response.status, body: await response.json() };
    };
    assert.equal((await poll()).body.error, "authorization_pending");

    const page = await (await browser.newContext()).newPage();
    await page.goto(started.verification_uri_complete);
    await page.fill("#username", "tess");
    await page.fill("#password", "tess password 123");
    await Promise.all([page.waitForURL(/\/device\?user_code=/), page.click("button[type=submit]")]);
    assert.match(await page.textContent("main"), /Living room TV/);
    assert.match(await page.textContent("main"), new RegExp(started.user_code));
    await Promise.all([page.waitForLoadState(), page.click("button[value=allow]")]);
    assert.match(await page.textContent("#device-done"), /your device is signed in/);

    let answer;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      answer = await poll();
      if (answer.status === 200) break;
    }
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(answer.body.id_token && answer.body.access_token);
  } finally {
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
});
