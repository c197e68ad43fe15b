// An admin's journey in headless Chromium: sign in, create a user and a client through the
// console pages; that user signs in at a relying party registered through those pages;
// the admin then sees the sign-in in the audit log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { cli, freePort, latchkeyEnv, startLatchkey, startRelyingParty } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"];

test("an admin creates a user and a client, and sees the user's sign-in in the audit log", { timeout: 120_000 }, async () => {
  const world = latchkeyEnv(await freePort());
  cli(world, ["user", "add", "root", "--admin", "--password-stdin"], "root password 123\n");
  const latchkey = await startLatchkey(world);
  const issuer = latchkey.issuer;
  const rpPort = await freePort();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  let rp;
  try {
    const admin = await (await browser.newContext()).newPage();
    // 1. The admin signs in and opens the console.
    await admin.goto(`${issuer}/admin`);
    await admin.waitForURL(`${issuer}/login?next=%2Fadmin`);
    await admin.fill("#username", "root");
    await admin.fill("#password", "root password 123");
    // Back where the admin was going.
    await Promise.all([admin.waitForURL(`${issuer}/admin`), admin.click("button[type=submit]")]);

    // 2. A user, through the users page.
    await admin.click("nav >> text=Users");
    await admin.fill("input[name=username]", "bob");
    await admin.fill("input[name=email]", "bob@example.com");
    await admin.fill("input[name=name]", "Bob Example");
    await admin.fill("form[action='/admin/users'] input[name=password]", "bob password 456");
    await Promise.all([admin.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/), admin.click("text=Create user")]);
    const bobId = admin.url().split("/").pop();

    // 2b. A group through the groups page, with bob added on it; a second one added from bob's page.
    await admin.click("nav >> text=Groups");
    await admin.fill("input[name=name]", "staff");
    await admin.fill("input[name=description]", "Everyone employed");
    await Promise.all([admin.waitForURL(`${issuer}/admin/groups/staff`), admin.click("text=Create group")]);
    await admin.fill("input[name=username]", "bob");
    const reloaded = (page, path) => page.waitForResponse((r) => r.url() === `${issuer}${path}` && r.request().method() === "GET");
    await Promise.all([reloaded(admin, "/admin/groups/staff"), admin.click("text=Add member")]);
    assert.match(await admin.textContent("main table"), /bob/);
    await admin.click("nav >> text=Groups");
    await admin.fill("input[name=name]", "night-shift");
    await Promise.all([admin.waitForURL(`${issuer}/admin/groups/night-shift`), admin.click("text=Create group")]);
    await admin.goto(`${issuer}/admin/users/${bobId}`);
    await admin.selectOption("select[name=group]", "night-shift");
    await Promise.all([reloaded(admin, `/admin/users/${bobId}`), admin.click("text=Add to group")]);
    const groupLinks = await admin.locator("a[href^='/admin/groups/']").allTextContents();
    assert.deepEqual(groupLinks.sort(), ["night-shift", "staff"]);

    // 3. A client, through the clients page; its secret is shown once.
    await admin.click("nav >> text=Clients");
    await admin.fill("input[name=client_id]", "shop");
    await admin.fill("input[name=name]", "The Shop");
    await admin.check("input[name=first_party]");
    await admin.fill("textarea[name=redirect_uris]", `http://localhost:${rpPort}/callback`);
    await admin.fill("input[name=scope]", "openid profile email offline_access groups");
    await admin.click("text=Register client");
    const secret = (await admin.textContent("#client-secret")).trim();
    assert.ok(secret.length >= 43);

    // 4. Bob signs in at the relying party registered above.
    rp = await startRelyingParty({ issuer, clientId: "shop", clientSecret: secret, port: rpPort, scope: "openid profile groups" });
    const bob = await (await browser.newContext()).newPage();
    await bob.goto(`${rp.base}/start`);
    await bob.waitForURL(/\/login\?request=/);
    await bob.fill("#username", "bob");
    await bob.fill("#password", "bob password 456");
    await Promise.all([bob.waitForURL(`${rp.base}/callback**`), bob.click("button[type=submit]")]);
    const claims = JSON.parse(await bob.textContent("#claims"));
    assert.equal(claims.sub, bobId);
    assert.equal(claims.preferred_username, "bob");
    assert.deepEqual(claims.groups, ["night-shift", "staff"]);

    // 5. The admin sees it in the audit log.
    await admin.goto(`${issuer}/admin/audit?event_type=sign_in&user=${bobId}`);
    const rows = await admin.locator("tr.audit-event").allTextContents();
    assert.equal(rows.length, 1, rows.join("\n"));
    assert.match(rows[0], /sign_in/);
    assert.match(rows[0], /shop/);
    assert.match(rows[0], /"method":"pwd"/);
    await admin.goto(`${issuer}/admin/audit?event_type=admin_action`);
    const actions = (await admin.locator("tr.audit-event").allTextContents()).join("\n");
    assert.match(actions, /"action":"create_group"[^\n]*"group":"staff"|"group":"staff"[^\n]*"action":"create_group"/);
    assert.equal((actions.match(/add_group_member/g) || []).length, 2, actions);
  } finally {
    rp?.close();
    await browser.close();
    latchkey.child.kill("SIGTERM");
  }
});
