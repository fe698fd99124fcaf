#!/usr/bin/env node
// `npm start`'s prestart: builds what is missing or stale, so a start with a
// current build takes a second, not a full compile. Two builds, each with a
// stamp holding a SHA-256 over every input (paths and contents, not mtimes,
// so a fresh clone, a checkout or a touched file rebuilds only when the bytes
// differ):
//   server   dist/src (`npm run build`, i.e. tsc) from src/, gen/ts/, the
//            tsconfig files and package-lock.json (which pins TypeScript)
//   console  dist/console (`npm run build:console`, i.e. Vite) from web/,
//            gen/ts/ and package-lock.json: the web console the gateway serves
//            at /console
//
//   node scripts/ensure-build.mjs                  build what is needed (quiet when current)
//   node scripts/ensure-build.mjs --check          exit 0 if everything is current, 1 if not
//   node scripts/ensure-build.mjs --only=console   just the console (the browser tests)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const TARGETS = [
  {
    name: "server",
    inputs: ["src", "gen/ts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"],
    entry: "dist/src/main.js",
    stamp: "dist/.build-stamp",
    script: "build",
    what: "dist/ with tsc (under a minute on two cores",
    // A clean build, so files removed from src/ do not linger in dist/; the console's build is its own.
    clean: () => {
      if (!existsSync(join(ROOT, "dist"))) return;
      for (const entry of readdirSync(join(ROOT, "dist"))) {
        if (entry !== "console" && entry !== ".console-stamp") rmSync(join(ROOT, "dist", entry), { recursive: true, force: true });
      }
    },
  },
  {
    name: "console",
    inputs: ["web", "gen/ts", "package-lock.json"],
    entry: "dist/console/index.html",
    stamp: "dist/.console-stamp",
    script: "build:console",
    what: "the web console (dist/console) with Vite (a few seconds",
    clean: () => {}, // Vite empties dist/console itself
  },
];

/** Every file of the inputs, as sorted paths relative to the repository. */
function inputs(target) {
  const found = [];
  for (const input of target.inputs) {
    const path = join(ROOT, input);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
        if (entry.isFile() && !/[\\/](node_modules|dist)([\\/]|$)/.test(entry.parentPath)) found.push(join(entry.parentPath, entry.name));
      }
    } else {
      found.push(path);
    }
  }
  return found.map((path) => relative(ROOT, path)).sort();
}

function digest(target) {
  const hash = createHash("sha256");
  for (const path of inputs(target)) {
    hash.update(path).update("\0").update(readFileSync(join(ROOT, path))).update("\0");
  }
  return hash.digest("hex");
}

function current(target, want) {
  const stamp = join(ROOT, target.stamp);
  return existsSync(join(ROOT, target.entry)) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want;
}

const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);
const targets = TARGETS.filter((target) => !only || target.name === only);
if (targets.length === 0) {
  process.stderr.write(`[ensure-build] --only= takes ${TARGETS.map((t) => t.name).join(" or ")}\n`);
  process.exit(2);
}
const stale = targets.map((target) => ({ target, want: digest(target) })).filter(({ target, want }) => !current(target, want));
if (process.argv.includes("--check")) process.exit(stale.length === 0 ? 0 : 1);

const log = (message) => process.stderr.write(`[ensure-build] ${message}\n`);
const npm = process.env.npm_execpath;
for (const { target, want } of stale) {
  log(
    existsSync(join(ROOT, target.entry))
      ? `${target.inputs.join(", ")} changed since the last build: rebuilding ${target.what}; only when they change)...`
      : `no build of ${target.name === "server" ? "dist/" : "dist/console"} yet: building ${target.what}; once, later starts skip this)...`,
  );
  const started = Date.now();
  target.clean();
  const build = npm
    ? spawnSync(process.execPath, [npm, "run", target.script, "--silent"], { cwd: ROOT, stdio: "inherit" })
    : spawnSync("npm", ["run", target.script, "--silent"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) {
    log(`the ${target.name} build failed (${build.error?.message ?? `exit ${build.status ?? build.signal}`}); fix the errors above and run npm start again`);
    process.exit(build.status || 1);
  }
  writeFileSync(join(ROOT, target.stamp), `${want}\n`);
  log(`built ${target.name === "server" ? "dist/" : "dist/console"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
