// Starts the real `latchkey` binary, runs its CLI, and plays a small relying party.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import crypto from "node:crypto";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const binary = process.env.LATCHKEY_BIN || join(root, "target/debug/latchkey");

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
    server.on("error", reject);
  });
}

/** The environment of one test's Latchkey: its own folder, database and Redis prefix. */
export function latchkeyEnv(port) {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-browser-"));
  const id = crypto.randomUUID().replace(/-/g, "");
  let databaseUrl = `sqlite://${join(dir, "latchkey.db")}?mode=rwc`;
  const adminUrl = process.env.LATCHKEY_TEST_DATABASE_URL;
  if (adminUrl) {
    const name = `latchkey_test_${id}`;
    execFileSync("psql", [adminUrl, "-qc", `CREATE DATABASE "${name}"`]);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  const env = {
    PATH: process.env.PATH,
    LATCHKEY_ISSUER: `http://localhost:${port}`,
    LATCHKEY_SERVER__BIND: `127.0.0.1:${port}`,
    LATCHKEY_DATABASE__URL: databaseUrl,
    LATCHKEY_KEYS__DIR: join(dir, "keys"),
    LATCHKEY_PASSWORDS__MEMORY_KIB: "64",
    LATCHKEY_PASSWORDS__ITERATIONS: "1",
    LATCHKEY_PASSWORDS__MIN_LENGTH: "1",
    LATCHKEY_PASSWORDS__MIN_STRENGTH: "0",
    // Admin tests sign in with a password; the MFA test turns this back on.
    LATCHKEY_MFA__REQUIRED_FOR_ADMINS: "false",
    LATCHKEY_REDIS__KEY_PREFIX: `latchkey-browser:${id}:`,
  };
  if (process.env.LATCHKEY_TEST_REDIS_URL) env.LATCHKEY_REDIS__URL = process.env.LATCHKEY_TEST_REDIS_URL;
  return { dir, env };
}

export function cli(world, args, input) {
  return execFileSync(binary, args, { cwd: world.dir, env: world.env, input: input ?? "" }).toString();
}

export async function startLatchkey(world) {
  const child = spawn(binary, ["serve"], { cwd: world.dir, env: world.env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => (log += chunk));
  const issuer = world.env.LATCHKEY_ISSUER;
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`${issuer}/healthz`);
      if (response.ok) return { child, issuer, log: () => log };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`latchkey did not start:\n${log}`);
}

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");

/**
 * A minimal confidential relying party: /start sends the browser to Latchkey with PKCE,
 * /callback exchanges the code, verifies the ID token against the JWKS and shows its claims.
 */
export async function startRelyingParty({ issuer, clientId, clientSecret, port, scope = "openid profile" }) {
  const base = `http://localhost:${port}`;
  const redirectUri = `${base}/callback`;
  const pending = new Map();
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, base);
      if (url.pathname === "/start") {
        const state = b64url(crypto.randomBytes(16));
        const nonce = b64url(crypto.randomBytes(16));
        const verifier = b64url(crypto.randomBytes(32));
        const challenge = b64url(crypto.createHash("sha256").update(verifier).digest());
        pending.set(state, { nonce, verifier });
        const authorize = new URL(`${issuer}/authorize`);
        for (const [k, v] of Object.entries({
          response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope,
          state, nonce, code_challenge: challenge, code_challenge_method: "S256",
        })) authorize.searchParams.set(k, v);
        res.writeHead(302, { Location: authorize.toString() }).end();
        return;
      }
      if (url.pathname === "/callback") {
        const state = url.searchParams.get("state");
        const flow = pending.get(state);
        if (!flow) throw new Error("unknown state");
        if (url.searchParams.get("iss") !== issuer) throw new Error("wrong iss in the response");
        const tokenResponse = await fetch(`${issuer}/token`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: "Basic " + Buffer.from(`${clientId}:${clientSecret}`).toString("base64"),
          },
          body: new URLSearchParams({
            grant_type: "authorization_code", code: url.searchParams.get("code"),
            redirect_uri: redirectUri, code_verifier: flow.verifier,
          }),
        });
        const tokens = await tokenResponse.json();
        if (!tokenResponse.ok) throw new Error(`token endpoint: ${JSON.stringify(tokens)}`);
        const claims = await verifyIdToken(issuer, clientId, tokens.id_token);
        if (claims.nonce !== flow.nonce) throw new Error("nonce mismatch");
        res.writeHead(200, { "Content-Type": "text/html" }).end(`<pre id="claims">${JSON.stringify(claims)}</pre>`);
        return;
      }
      res.writeHead(404).end();
    } catch (error) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(String(error));
    }
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { base, redirectUri, close: () => server.close() };
}

async function verifyIdToken(issuer, clientId, idToken) {
  const [headerPart, payloadPart, signaturePart] = idToken.split(".");
  const header = JSON.parse(Buffer.from(headerPart, "base64url"));
  if (header.alg !== "RS256") throw new Error("unexpected alg");
  const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error("unknown kid");
  const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
  const valid = crypto.verify("RSA-SHA256", Buffer.from(`${headerPart}.${payloadPart}`), key, Buffer.from(signaturePart, "base64url"));
  if (!valid) throw new Error("bad ID token signature");
  const claims = JSON.parse(Buffer.from(payloadPart, "base64url"));
  if (claims.iss !== issuer || claims.aud !== clientId) throw new Error("wrong iss or aud");
  if (claims.exp * 1000 < Date.now()) throw new Error("expired ID token");
  return claims;
}
