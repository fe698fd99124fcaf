import { parseArgs } from "node:util";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { looksLikeSecret, ownSecretsOf } from "../api/admin/secret-lookalike.js";
import { loadConfig } from "../config/load-config.js";
import { buildSecrets } from "../config/secrets-config.js";
import { fingerprint } from "../secrets/credential.js";
import { EncryptedFileStore } from "../secrets/encrypted-file-store.js";
import { secretNameProblem } from "../secrets/secret-name-problem.js";
import { ADMIN_CONNECTION_VARIABLES, adminClient, asksForHelp, CliError, runCli, table } from "./admin-client.js";
import { maskedNamesNote, shownSecretName, storedSecretName } from "./shown-secret-name.js";

export const SECRETS_USAGE = `usage: switchboard secrets <command> [--store file|db]

commands:
  set NAME      store a secret; the value is read from stdin (typed without echo on a terminal)
  rotate NAME   --store db: add a version of a secret; gateways using it stage it as a canary
  list          list the stored secrets: name, fingerprint and last change (never the values); a name
                that looks like a key is shown masked, with the name's own fingerprint (#1a2b3c4d)
  rm NAME       remove a secret (--store db: with all its versions); --store file: rm '#1a2b3c4d'
                removes the one a listing showed masked with that fingerprint
  rewrap        after a key rotation: --store file re-encrypts the file with SWITCHBOARD_SECRET_KEY
                (it opened with a key in SWITCHBOARD_SECRET_KEY_PREVIOUS); --store db rewraps every
                data key with the key-encryption key's current version (--all: every data key,
                e.g. after an AWS KMS key rotation)

--store file (the default) edits the encrypted file SWITCHBOARD_SECRETS_FILE (or
secrets.file, default <data_dir>/secrets.enc), encrypted with AES-256-GCM under
SWITCHBOARD_SECRET_KEY (or the key file in SWITCHBOARD_SECRET_KEY_FILE /
secrets.key_file): 32 random bytes, base64 or hex. Refer to a secret as "file:NAME".
Keys in SWITCHBOARD_SECRET_KEY_PREVIOUS (comma-separated) still open it, until rewrap.

--store db keeps secrets in the gateway's own database (SQLite, or the Postgres the
instances share), each version under its own data key wrapped by the key-encryption
key (SWITCHBOARD_SECRET_KEY, Vault Transit or AWS KMS). Refer to a secret as "db:NAME".

--store file works on the file itself, with no gateway running. --store db calls
a running gateway's AdminService:
${ADMIN_CONNECTION_VARIABLES}`;

export interface CommandIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const TAKES_NAME = new Set(["set", "rotate", "rm"]);
const COMMANDS = new Set([...TAKES_NAME, "list", "rewrap"]);

/** `switchboard secrets set|rotate|list|rm|rewrap [--store file|db]`. Returns the exit code. */
export async function secretsCommand(args: string[], io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  // `secrets set --help` asks for help too, not for a value on stdin.
  if (asksForHelp(args)) {
    io.stdout.write(`${SECRETS_USAGE}\n`);
    return 0;
  }
  let parsed: ReturnType<typeof parseSecretsArgs>;
  try {
    parsed = parseSecretsArgs(args);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${SECRETS_USAGE}\n`);
    return 2;
  }
  const { command, name, store, all } = parsed;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    io.stdout.write(`${SECRETS_USAGE}\n`);
    return command ? 0 : 2;
  }
  if (name && (command === "set" || command === "rotate") && looksLikeSecret(name, ownSecretsOf(io.env))) {
    // `secrets set "$OPENAI_API_KEY"`: refused as the gateway refuses it for --store db, before the value is asked for, never echoed.
    io.stderr.write(`switchboard: the NAME given holds what looks like a secret (a key or token), not shown: write the secret's name (secrets ${command} openai) and give its value on stdin; nothing changed\n`);
    return 2;
  }
  return store === "db" ? dbSecretsCommand(command, name, all, io) : fileSecretsCommand(command, name, io);
}

function parseSecretsArgs(args: string[]): { command: string | undefined; name: string | undefined; store: "file" | "db"; all: boolean } {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { store: { type: "string" }, all: { type: "boolean" } } });
  const [command, name, ...rest] = positionals;
  const store = values.store ?? "file";
  if (store !== "file" && store !== "db") throw new Error(`--store must be "file" or "db", not "${store}"`);
  if (command && COMMANDS.has(command)) {
    const needsName = TAKES_NAME.has(command);
    if ((needsName && (!name || rest.length > 0)) || (!needsName && name)) throw new Error(needsName ? `"secrets ${command}" takes exactly one NAME` : `"secrets ${command}" takes no arguments`);
    if (command === "rotate" && store !== "db") throw new Error(`"secrets ${command}" works on --store db (the file keeps one value per name: \`secrets set\` replaces it)`);
  }
  if (values.all && (command !== "rewrap" || store !== "db")) throw new Error("--all goes with rewrap --store db only (the file is re-encrypted whole)");
  return { command, name, store, all: values.all ?? false };
}

/** The encrypted file, edited in place (atomically). */
async function fileSecretsCommand(command: string, name: string | undefined, io: CommandIo): Promise<number> {
  const config = loadConfig(io.env);
  const settings = config.secrets ?? buildSecrets(undefined, io.env, config.dataDir);
  const store = () => EncryptedFileStore.fromEnv(settings.file, io.env, settings.keyFile, (message) => io.stderr.write(`switchboard: warning: ${message}\n`));
  const ownSecrets = ownSecretsOf(io.env);

  switch (command) {
    case "set": {
      // Before the value is asked for (the prompt names the secret): said without quoting the name, maybe a key pasted there.
      const nameProblem = secretNameProblem(name!);
      if (nameProblem) {
        io.stderr.write(`switchboard: ${nameProblem}; nothing changed\n`);
        return 2;
      }
      const opened = store();
      // Open (and check the key against) the file before asking for the value.
      opened.read();
      const value = await readValue(io, name!);
      if (!value) {
        io.stderr.write("switchboard: no value given on stdin; nothing changed\n");
        return 1;
      }
      const replaced = opened.set(name!, value);
      io.stdout.write(`${replaced ? "updated" : "stored"} ${name} (fingerprint ${fingerprint(value)}) in ${settings.file}\n`);
      return 0;
    }
    case "list": {
      const secrets = [...store().read()].sort(([a], [b]) => a.localeCompare(b));
      if (secrets.length === 0) {
        io.stdout.write(`no secrets in ${settings.file}\n`);
        return 0;
      }
      const shown = secrets.map(([stored, secret]) => ({ stored, name: shownSecretName(stored, ownSecrets), secret }));
      const width = Math.max(4, ...shown.map((row) => row.name.length));
      io.stdout.write(`${"NAME".padEnd(width)}  FINGERPRINT  UPDATED\n`);
      for (const row of shown) io.stdout.write(`${row.name.padEnd(width)}  ${fingerprint(row.secret.value).padEnd(11)}  ${row.secret.updatedAt}\n`);
      const masked = shown.filter((row) => row.name !== row.stored).length;
      if (masked > 0) io.stderr.write(maskedNamesNote(masked, "remove the old one (secrets rm '#FINGERPRINT', the name's, as shown)"));
      return 0;
    }
    case "rm": {
      // A name that looks like a key (stored before such names were refused) is removed as any other, and never echoed.
      const opened = store();
      const stored = storedSecretName(name!, opened.read().keys(), ownSecrets);
      if (stored === undefined || !opened.remove(stored)) {
        io.stderr.write(`switchboard: no secret named "${shownSecretName(name!, ownSecrets)}" in ${settings.file}; nothing changed\n`);
        return 1;
      }
      io.stdout.write(`removed ${shownSecretName(stored, ownSecrets)} from ${settings.file}\n`);
      return 0;
    }
    case "rewrap": {
      const { outcome, secrets } = store().rewrap();
      if (outcome === "no-file") {
        io.stderr.write(`switchboard: no secrets file at ${settings.file} (SWITCHBOARD_SECRETS_FILE or secrets.file); nothing changed\n`);
        return 1;
      }
      io.stdout.write(
        outcome === "rewrapped"
          ? `re-encrypted ${settings.file} (${secrets} secrets) with the current key; SWITCHBOARD_SECRET_KEY_PREVIOUS is no longer needed for it\n`
          : `${settings.file} (${secrets} secrets) is encrypted with the current key already; nothing changed\n`,
      );
      return 0;
    }
    default:
      io.stderr.write(`unknown secrets command "${command}"\n\n${SECRETS_USAGE}\n`);
      return 2;
  }
}

/**
 * The database store, through a running gateway's AdminService (as
 * `switchboard keys` does): the gateway encrypts with its key-encryption
 * key, and its instances hear of each new version. The value travels in the
 * request only (use an https SWITCHBOARD_URL beyond this host); answers carry
 * fingerprints and versions.
 */
async function dbSecretsCommand(command: string, name: string | undefined, all: boolean, io: CommandIo): Promise<number> {
  if (!COMMANDS.has(command)) {
    io.stderr.write(`unknown secrets command "${command}"\n\n${SECRETS_USAGE}\n`);
    return 2;
  }
  const ownSecrets = ownSecretsOf(io.env);
  return runCli(io, async () => {
    const client = adminClient(io);
    switch (command) {
      case "set":
      case "rotate": {
        const value = await readValue(io, name!);
        if (!value) throw new CliError("no value given on stdin; nothing changed");
        if (command === "set") {
          const { secret } = await client.createStoredSecret({ secretId: name!, value });
          const version = secret!.latestVersion!;
          io.stdout.write(`stored ${name} version ${version.version} (fingerprint ${version.fingerprint}, wrapped with ${version.keyEncryptionKey}) in the gateway's database; refer to it as "db:${name}"\n`);
        } else {
          const { version } = await client.addStoredSecretVersion({ parent: `secrets/${name}`, value });
          io.stdout.write(`added version ${version!.version} of ${name} (fingerprint ${version!.fingerprint}); gateways using "db:${name}" stage it as a canary\n`);
        }
        return;
      }
      case "list": {
        const rows: string[][] = [];
        let masked = 0;
        let pageToken = "";
        do {
          const page = await client.listStoredSecrets({ pageSize: 1000, pageToken });
          for (const secret of page.secrets) {
            const latest = secret.latestVersion!;
            const stored = secret.name.slice("secrets/".length);
            const shown = shownSecretName(stored, ownSecrets);
            if (shown !== stored) masked++;
            rows.push([shown, String(latest.version), String(secret.versionCount), latest.fingerprint, latest.keyEncryptionKey, timestampDate(latest.createTime!).toISOString()]);
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
        io.stdout.write(rows.length === 0 ? "no secrets in the gateway's database\n" : table(["NAME", "VERSION", "VERSIONS", "FINGERPRINT", "KEY-ENCRYPTION KEY", "UPDATED"], rows));
        if (masked > 0) io.stderr.write(maskedNamesNote(masked, "stop using the old one (the gateway refuses to look such a name up, for removal too)"));
        return;
      }
      case "rm":
        await client.deleteStoredSecret({ name: `secrets/${name}` });
        io.stdout.write(`removed ${shownSecretName(name!, ownSecrets)} (every version) from the gateway's database\n`);
        return;
      case "rewrap": {
        const result = await client.rewrapStoredSecrets({ all });
        io.stdout.write(`rewrapped ${result.rewrappedCount} data keys with ${result.keyEncryptionKey}; ${result.unchangedCount} were on it already${result.skippedCount > 0n ? `; ${result.skippedCount} changed meanwhile and were left alone` : ""}\n`);
        return;
      }
    }
  });
}

/** The value from stdin: typed without echo on a terminal, else everything piped in (one trailing newline dropped). */
async function readValue(io: CommandIo, name: string): Promise<string> {
  if (io.stdin.isTTY) return promptHidden(io, `value for ${name} (not shown): `);
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

function promptHidden(io: CommandIo, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = io.stdin;
    let value = "";
    io.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      io.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === "\r" || char === "\n" || char === "\u0004") return done();
        if (char === "\u0003") return done(new Error("cancelled"));
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on("data", onData);
  });
}
