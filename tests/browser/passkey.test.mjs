// A person's passkey journey in headless Chromium with a virtual authenticator: password
// sign-in, "Add a passkey" on /account, sign out, then "Sign in with a passkey" at a
// relying party, whose verified ID token must say amr = ["hwk", "user", "mfa"].
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey, startRelyingParty } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

test("a user adds a passkey and signs in with it at a relying party", { timeout: 120_000 }, () => journey("button"));

test("the login page offers the passkey through autofill (conditional mediation)", { timeout: 120_000 }, () => journey("autofill"));

// The button clicked while autofill's own /login/passkey/start is still on its way: the
// click must win, and autofill must not start a second WebAuthn request behind it (which
// the browser answers with "A request is already pending.").
test("the passkey button works while autofill is still starting", { timeout: 120_000 }, () => journey("race"));

async function journey(mode) {
  const port = await freePort();
  const world = latchkeyEnv(port);
  cli(world, ["user", "add", "alice", "--name", "Alice", "--password-stdin"], "correct horse battery staple\n");
  const latchkey = await startLatchkey(world);
  const secret = "browser-test-secret-".padEnd(40, "x");
  const rpPort = await freePort();
  // Register the RP before it listens: its port is already chosen.
  cli(world, ["client", "add", "browser-rp", "--first-party", "--secret-stdin", "--redirect-uri", `http://localhost:${rpPort}/callback`], secret);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  let rp;
  try {
    rp = await startRelyingParty({ issuer: latchkey.issuer, clientId: "browser-rp", clientSecret: secret, port: rpPort });
    const context = await browser.newContext();
    // Chromium's virtual authenticator answers the login page's autofill (conditional
    // mediation) request by itself, which would sign in before the button is clicked.
    // This test is about the button, so the page is told autofill is unavailable.
    if (mode === "button") {
      await context.addInitScript(() => {
        if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
    }
    if (mode === "race") {
      await context.addInitScript(() => {
        window.credentialRequests = [];
        const get = navigator.credentials.get.bind(navigator.credentials);
        navigator.credentials.get = (options) => {
          window.credentialRequests.push(options?.mediation ?? "modal");
          return get(options);
        };
      });
    }
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    // 1. Sign in with the password.
    await page.goto(`${latchkey.issuer}/login`);
    await page.fill("#username", "alice");
    await page.fill("#password", "correct horse battery staple");
    await Promise.all([page.waitForURL(`${latchkey.issuer}/account`), page.click("button[type=submit]")]);

    // 2. Add a passkey on /account.
    await page.fill("#passkey-name", "Test laptop");
    await Promise.all([page.waitForLoadState("load"), page.click("text=Add a passkey")]);
    await page.waitForSelector(".passkey-name:has-text('Test laptop')", { timeout: 15_000 });
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");

    // 3. Sign out.
    await Promise.all([page.waitForLoadState("load"), page.click("text=Sign out")]);
    await page.waitForSelector("text=You are signed out");

    // 4. At the relying party: "Sign in with a passkey" (or autofill), no username typed.
    const held = mode === "race" ? await holdFirstRequests(page) : null;
    await page.goto(`${rp.base}/start`);
    if (mode === "button") {
      await page.waitForURL(/\/login\?request=/);
      await page.click("#passkey-sign-in");
    }
    if (mode === "race") await raceAutofill(page, held);
    await page.waitForURL(`${rp.base}/callback**`, { timeout: 15_000 });
    const claims = JSON.parse(await page.textContent("#claims"));
    assert.deepEqual(claims.amr, ["hwk", "user", "mfa"]);
    assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 120);
  } finally {
    rp?.close();
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
}

/** Holds the first /login/passkey/start (autofill's) and the first /finish until released. */
async function holdFirstRequests(page) {
  const held = {};
  for (const step of ["start", "finish"]) {
    let arrived;
    held[step] = new Promise((resolve) => (arrived = resolve));
    let first = true;
    await page.route(`**/login/passkey/${step}`, (route) => {
      if (!first) return route.continue();
      first = false;
      arrived(route);
    });
  }
  return held;
}

async function raceAutofill(page, held) {
  const autofillStart = await held.start;
  await page.click("#passkey-sign-in");
  // The button's ceremony ran (its finish is held); now autofill's start answers.
  const buttonFinish = await held.finish;
  const answered = page.waitForResponse((response) => response.request() === autofillStart.request());
  await autofillStart.continue();
  await answered;
  await page.waitForTimeout(300);
  assert.deepEqual(await page.evaluate(() => window.credentialRequests), ["modal"], "autofill stood down");
  assert.equal(await page.textContent("#passkey-message"), "", "no error is shown");
  await buttonFinish.continue();
}
