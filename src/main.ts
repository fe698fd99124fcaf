#!/usr/bin/env node
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./common/package-root.js";
import { bootstrapAuth, filePepperNotice, keepGeneratedMasterKey, masterKeyReplacementNotice, weakMasterKeyNotice } from "./auth/bootstrap.js";
import { showGeneratedMasterKey } from "./auth/generated-master-key-notice.js";
import { cacheCommand } from "./cli/cache-command.js";
import { keysCommand } from "./cli/keys-command.js";
import { secretsCommand } from "./cli/secrets-command.js";
import { usageCommand } from "./cli/usage-command.js";
import { ConfigError } from "./config/config-error.js";
import { loadConfig } from "./config/load-config.js";
import type { GatewayConfig } from "./config/config.js";
import { planWorkers, type WorkersPlan } from "./config/workers-config.js";
import { createLogger } from "./observability/logger.js";
import { maskKeys } from "./providers/redact.js";
import { consoleUrl } from "./server/console-url.js";
import { tuneHeap } from "./server/heap-tuning.js";
import { superviseWorkers } from "./server/workers.js";

const USAGE = `usage: switchboard <command>

commands:
  serve     start the gateway (default)
  secrets   set, list, rotate, rewrap or remove vendor keys in the encrypted file or the gateway's database (switchboard secrets help)
  keys      create, list, update or revoke gateway keys on a running gateway (switchboard keys help)
  usage     requests, tokens and cost from the usage ledger (switchboard usage --since 7d --by provider)
  cache     purge cached answers on a running gateway (switchboard cache purge --key ID | --team T | --model M)
  help      show this text (--version: the gateway's version)

configuration: environment variables and an optional YAML file in SWITCHBOARD_CONFIG (see README).`;

const SERVE_USAGE = `usage: switchboard serve

Starts the gateway. It takes no arguments: it is configured by environment
variables (PORT, HOST, SWITCHBOARD_DATA_DIR, SWITCHBOARD_MASTER_KEY, the vendors'
keys, …) and the optional YAML file named by SWITCHBOARD_CONFIG (see README).`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const workers = planWorkers(process.env, config.usage!.store);
  if (workers.count > 1 && cluster.isPrimary) return serveWithWorkers(config, workers);
  tuneHeap();
  // Imported here: a primary that only supervises workers never loads the gateway (about 30 MB less).
  const { createSwitchboard } = await import("./app.js");
  const app = await createSwitchboard(config, { logFields: cluster.isWorker ? { pid: process.pid } : undefined });
  const replaced = masterKeyReplacementNotice(config.dataDir, process.env);
  if (replaced) app.logger.warn(replaced);
  const weak = weakMasterKeyNotice(process.env);
  if (weak && cluster.isPrimary) app.logger.warn(weak);
  if (workers.notice && cluster.isPrimary) app.logger.warn(workers.notice);
  const pepperFile = filePepperNotice(config.dataDir, process.env);
  if (pepperFile && cluster.isPrimary) app.logger.warn(pepperFile);
  const address = await app.listen().catch((err: unknown) => {
    throw hostRefusal(err, config.server.host) ?? err;
  });
  // Only now, every check passed and the port bound, is a generated master key saved and shown: a start that failed
  // before this saved nothing, so the next one generates a key and shows it, rather than keep one no one saw.
  keepGeneratedMasterKey(config.dataDir, app.generatedMasterKey, (key) => showGeneratedMasterKey(config.dataDir, key));
  app.logger.info(
    { address: address.address, port: address.port, providers: config.providers.map((p) => p.name), console: consoleUrl(address, config.server.tls !== undefined) },
    "switchboard listening (gRPC, gRPC-Web, Connect and HTTP/1.1 on one port)",
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, "shutting down: draining in-flight calls");
    app.shutdown().then(
      () => {
        app.logger.info("stopped");
        app.logger.flush(() => process.exit(0));
      },
      (err: unknown) => {
        app.logger.error({ error: (err as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // A signal often comes twice at once: Ctrl-C reaches `npm start` and the gateway (one process group), and npm passes
  // its own on; a worker hears the terminal's or systemd's and the primary's. A repeat that soon must not cut the drain
  // short. Later, on the primary, it is an operator asking again: stop at once.
  let firstSignalAt = 0;
  const onSignal = (signal: string): void => {
    if (!stopping) {
      firstSignalAt = performance.now();
      return stop(signal);
    }
    if (cluster.isWorker) return;
    if (performance.now() - firstSignalAt < REPEATED_SIGNAL_MS) {
      app.logger.info({ signal }, "already draining: the same signal again at once is ignored (send it again after two seconds to stop at once)");
      return;
    }
    app.logger.warn({ signal }, "asked again to stop: exiting without waiting for the calls in flight");
    app.logger.flush(() => process.exit(130));
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

/** A second signal sooner than this after the first is the same one, delivered twice. */
const REPEATED_SIGNAL_MS = 2_000;

/** The primary under SWITCHBOARD_WORKERS=N: creates the pepper and master key once, then forks the workers that serve. */
async function serveWithWorkers(config: GatewayConfig, workers: WorkersPlan): Promise<void> {
  const logger = createLogger(config.logLevel);
  // Workers need Postgres, where a master key is required (bootstrapAuth refuses here otherwise): none is generated. Were one
  // generated, its digest would have to be saved before the workers read it.
  keepGeneratedMasterKey(config.dataDir, bootstrapAuth(config.dataDir, process.env).generatedMasterKey, (key) => showGeneratedMasterKey(config.dataDir, key));
  const replaced = masterKeyReplacementNotice(config.dataDir, process.env);
  if (replaced) logger.warn(replaced);
  const pepperFile = filePepperNotice(config.dataDir, process.env);
  if (pepperFile) logger.warn(pepperFile);
  if (workers.notice) logger.warn(workers.notice);
  const code = await superviseWorkers({ count: workers.count, logger });
  logger.info({ code }, "stopped");
  logger.flush(() => process.exit(code));
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? "serve";
  switch (command) {
    case "serve":
      return serveCommand(argv.slice(1));
    case "secrets":
      process.exitCode = await secretsCommand(argv.slice(1));
      return;
    case "keys":
      process.exitCode = await keysCommand(argv.slice(1));
      return;
    case "usage":
      process.exitCode = await usageCommand(argv.slice(1));
      return;
    case "cache":
      process.exitCode = await cacheCommand(argv.slice(1));
      return;
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    case "--version":
    case "-v":
      console.log(gatewayVersion());
      return;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

/**
 * `serve`, which takes no arguments: a flag it does not read (`--port 9000`)
 * must not start a gateway on a port the operator did not ask for, nor
 * `--help` one that writes a master key into the working directory.
 */
async function serveCommand(args: string[]): Promise<void> {
  if (args.length === 0) return serve();
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    console.log(SERVE_USAGE);
    return;
  }
  console.error(`"serve" takes no arguments, got "${args.join(" ")}"\n\n${SERVE_USAGE}`);
  process.exitCode = 2;
}

/** The version in the gateway's package.json. */
function gatewayVersion(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

/** A line on stderr, masked as the logger masks its lines: an error may quote a store's answer, and stderr joins the same log pipeline. */
function complain(line: string): void {
  console.error(maskKeys(line));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    complain(`switchboard: configuration error: ${err.message}`);
    process.exit(78);
  }
  const fileError = err as NodeJS.ErrnoException;
  if (fileError.path !== undefined && FILE_REFUSALS.has(fileError.code ?? "")) {
    // A data directory that is read-only, not ours or full (the pepper, the master key's digest): the operator's to fix.
    complain(`switchboard: configuration error: cannot write the data directory (SWITCHBOARD_DATA_DIR must be a writable directory): ${fileError.message}`);
    process.exit(78);
  }
  const listenError = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (isListenSyscall(listenError.syscall)) {
    // The port is taken or not ours to bind: the operator's to fix, so no stack trace.
    complain(`switchboard: cannot listen on ${listenError.address ?? ""}:${listenError.port ?? ""} (${listenError.code}: ${describeListenError(listenError.code)})`);
    process.exit(1);
  }
  complain(`switchboard: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

/**
 * A host to listen on that does not resolve, or that no interface has: a
 * configuration error naming where it was set (HOST, or server.host in the
 * file), not a stack trace.
 */
function hostRefusal(err: unknown, host: string): ConfigError | undefined {
  const { syscall, code } = err as NodeJS.ErrnoException;
  const unresolved = syscall === "getaddrinfo";
  if (!unresolved && !(isListenSyscall(syscall) && code === "EADDRNOTAVAIL")) return undefined;
  const [source, field] = process.env.HOST !== undefined ? ["environment", "HOST"] : [process.env.SWITCHBOARD_CONFIG ?? "environment", "server.host"];
  return new ConfigError(source, field, `cannot listen on "${host}" (${code}: ${unresolved ? "the name does not resolve" : describeListenError(code)})`);
}

/** A failed listen: `listen` in a single process; in a cluster worker the primary binds for it, and the worker hears `bind`. */
function isListenSyscall(syscall: string | undefined): boolean {
  return syscall === "listen" || syscall === "bind";
}

/** File-system refusals at start that only the operator can lift. */
const FILE_REFUSALS = new Set(["EROFS", "EACCES", "EPERM", "ENOSPC", "ENOTDIR", "EDQUOT"]);

function describeListenError(code: string | undefined): string {
  if (code === "EADDRINUSE") return "another process is listening there; stop it or set PORT";
  if (code === "EACCES") return "ports below 1024 need privileges; set PORT";
  if (code === "EADDRNOTAVAIL") return "no interface has that address; check HOST";
  return "see the code";
}
