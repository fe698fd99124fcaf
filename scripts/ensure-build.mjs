#!/usr/bin/env node
// `npm start`'s prestart: builds dist/ (`npm run build`, i.e. tsc) only when it
// is missing or stale, so a start with a current build takes a second, not a
// full compile. dist/.build-stamp holds a SHA-256 over every input of the
// build (src/, gen/ts/, the tsconfig files and package-lock.json, which pins
// TypeScript): paths and contents, not mtimes, so a fresh clone, a checkout or
// a touched file rebuilds only when the bytes differ.
//
//   node scripts/ensure-build.mjs           build if needed (quiet when current)
//   node scripts/ensure-build.mjs --check   exit 0 if dist/ is current, 1 if not
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const INPUTS = ["src", "gen/ts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];
const ENTRY = join(ROOT, "dist/src/main.js");
const STAMP = join(ROOT, "dist/.build-stamp");

/** Every file of the build's inputs, as sorted paths relative to the repository. */
function inputs() {
  const found = [];
  for (const input of INPUTS) {
    const path = join(ROOT, input);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
        if (entry.isFile()) found.push(join(entry.parentPath, entry.name));
      }
    } else {
      found.push(path);
    }
  }
  return found.map((path) => relative(ROOT, path)).sort();
}

function digest() {
  const hash = createHash("sha256");
  for (const path of inputs()) {
    hash.update(path).update("\0").update(readFileSync(join(ROOT, path))).update("\0");
  }
  return hash.digest("hex");
}

function current(want) {
  return existsSync(ENTRY) && existsSync(STAMP) && readFileSync(STAMP, "utf8").trim() === want;
}

const want = digest();
if (process.argv.includes("--check")) process.exit(current(want) ? 0 : 1);
if (current(want)) process.exit(0);

const log = (message) => process.stderr.write(`[ensure-build] ${message}\n`);
log(
  existsSync(ENTRY)
    ? "src/ or gen/ts changed since dist/ was built: rebuilding with tsc (about 15-40 s; only when the sources change)..."
    : "no build in dist/ yet: building it with tsc (once; about 15-40 s, later starts skip this)...",
);
const started = Date.now();
// A clean build, so files removed from src/ do not linger in dist/.
rmSync(join(ROOT, "dist"), { recursive: true, force: true });
const npm = process.env.npm_execpath;
const build = npm
  ? spawnSync(process.execPath, [npm, "run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" })
  : spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
if (build.status !== 0) {
  log(`the build failed (${build.error?.message ?? `exit ${build.status ?? build.signal}`}); fix the errors above and run npm start again`);
  process.exit(build.status || 1);
}
writeFileSync(STAMP, `${want}\n`);
log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
