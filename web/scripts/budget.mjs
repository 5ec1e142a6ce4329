// Fails the build when the first load of /app/ ships more than the budget of gzipped JavaScript.
// The first load is every script index.html names (entry and modulepreload), not chunks loaded later.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 150 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const scripts = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/app\/([^"]+\.js)"/g)].map(
  (match) => match[1],
);
if (scripts.length === 0) {
  console.error("budget: index.html names no script; is the build broken?");
  rmSync(join(dist, "index.html"));
  process.exit(1);
}
let total = 0;
for (const name of new Set(scripts)) {
  const size = gzipSync(readFileSync(join(dist, name)), { level: 9 }).length;
  total += size;
  console.log(`budget: ${name} ${(size / 1024).toFixed(1)} KB gzipped`);
}
const verdict = total <= BUDGET_BYTES ? "within" : "OVER";
console.log(`budget: first load ${(total / 1024).toFixed(1)} KB of ${BUDGET_BYTES / 1024} KB gzipped JavaScript (${verdict})`);
if (total > BUDGET_BYTES) {
  // No half-accepted build: without index.html, make sees the web app as unbuilt and runs this check again.
  rmSync(join(dist, "index.html"));
  process.exit(1);
}
