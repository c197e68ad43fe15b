// response_mode=form_post in headless Chromium: after sign-in, Latchkey's page posts the
// code to the relying party (by its script), and the relying party exchanges it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import crypto from "node:crypto";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];

test("form_post delivers the code to the relying party", { timeout: 120_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  const rpPort = await freePort();
  const secret = "form-post-test-secret-".padEnd(40, "x");
  const redirectUri = `http://localhost:${rpPort}/callback`;
  cli(world, ["user", "add", "fran", "--password-stdin"], "fran password 123\n");
  cli(world, ["client", "add", "poster", "--first-party", "--secret-stdin", "--redirect-uri", redirectUri], secret);
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const verifier = crypto.randomBytes(32).toString("base64url");
  const challenge = crypto.createHash("sha256").update(verifier).digest("base64url");
  const rp = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.method !== "POST") return res.writeHead(405).end();
    const form = new URLSearchParams(body);
    const tokens = await (await fetch(`${issuer}/token`, {
      method: "POST",
      headers: { Authorization: "Basic " + Buffer.from(`poster:${secret}`).toString("base64") },
      body: new URLSearchParams({ grant_type: "authorization_code", code: form.get("code"), redirect_uri: redirectUri, code_verifier: verifier }),
    })).json();
    const ok = tokens.id_token && form.get("state") === "posted-state" && form.get("iss") === issuer;
    res.writeHead(200, { "Content-Type": "text/html" }).end(`<p id="result">${ok ? "received" : JSON.stringify(tokens)}</p>`);
  });
  await new Promise((r) => rp.listen(rpPort, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const authorize = new URL(`${issuer}/authorize`);
    for (const [k, v] of Object.entries({
      response_type: "code", response_mode: "form_post", client_id: "poster", redirect_uri: redirectUri,
      scope: "openid", state: "posted-state", code_challenge: challenge, code_challenge_method: "S256",
    })) authorize.searchParams.set(k, v);
    const page = await (await browser.newContext()).newPage();
    await page.goto(authorize.toString());
    await page.fill("#username", "fran");
    await page.fill("#password", "fran password 123");
    await Promise.all([page.waitForURL(redirectUri), page.click("button[type=submit]")]);
    assert.equal(await page.textContent("#result"), "received");
  } finally {
    await browser.close();
    rp.close();
    latchkey.child.kill("SIGTERM");
  }
});
