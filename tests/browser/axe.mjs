// axe-core's WCAG 2 A/AA checks for a Playwright page, injected through the DevTools
// protocol so that our CSP need not allow it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Fails with the list of violations when the page has any. */
export async function assertAccessible(page, what) {
  await page.evaluate(AXE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const found = results.violations.map((v) => `${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`);
  assert.deepEqual(found, [], `${what} (${page.url()}) has WCAG violations:\n${found.join("\n")}`);
}
