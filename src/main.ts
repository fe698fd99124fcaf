#!/usr/bin/env node
import { createSwitchboard } from "./app.js";
import { masterKeyReplacementNotice } from "./auth/bootstrap.js";
import { cacheCommand } from "./cli/cache-command.js";
import { keysCommand } from "./cli/keys-command.js";
import { secretsCommand } from "./cli/secrets-command.js";
import { usageCommand } from "./cli/usage-command.js";
import { ConfigError } from "./config/config-error.js";
import { loadConfig } from "./config/load-config.js";

const USAGE = `usage: switchboard <command>

commands:
  serve     start the gateway (default)
  secrets   set, list, rotate or remove vendor keys in the encrypted file or the gateway's database (switchboard secrets help)
  keys      create, list, update or revoke gateway keys on a running gateway (switchboard keys help)
  usage     requests, tokens and cost from the usage ledger (switchboard usage --since 7d --by provider)
  cache     purge cached answers on a running gateway (switchboard cache purge --key ID | --team T | --model M)
  help      show this text

configuration: environment variables and an optional YAML file in SWITCHBOARD_CONFIG (see README).`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const app = await createSwitchboard(config);
  if (app.generatedMasterKey) {
    // Shown once, on the terminal only; the gateway keeps nothing but its digest.
    process.stderr.write(
      `\nNo SWITCHBOARD_MASTER_KEY was set, so one was generated. It is shown only this once:\n\n  ${app.generatedMasterKey}\n\n` +
        `Keep it somewhere safe; to replace it, delete ${config.dataDir}/master-key.digest and restart.\n\n`,
    );
  }
  const replaced = masterKeyReplacementNotice(config.dataDir, process.env);
  if (replaced) app.logger.warn(replaced);
  const address = await app.listen();
  app.logger.info(
    { address: address.address, port: address.port, providers: config.providers.map((p) => p.name) },
    "switchboard listening (gRPC, gRPC-Web, Connect and HTTP/1.1 on one port)",
  );
  const stop = (signal: string): void => {
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
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? "serve";
  switch (command) {
    case "serve":
      return serve();
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
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`switchboard: configuration error: ${err.message}`);
    process.exit(78);
  }
  console.error(`switchboard: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
