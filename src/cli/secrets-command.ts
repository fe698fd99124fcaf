import { loadConfig } from "../config/load-config.js";
import { buildSecrets } from "../config/secrets-config.js";
import { fingerprint } from "../secrets/credential.js";
import { loadDataKey } from "../secrets/data-key.js";
import { EncryptedFileStore } from "../secrets/encrypted-file-store.js";

export const SECRETS_USAGE = `usage: switchboard secrets <command>

commands:
  set NAME   store a secret; the value is read from stdin (typed without echo on a terminal)
  list       list the stored secrets: name, fingerprint and last change (never the values)
  rm NAME    remove a secret

The file is SWITCHBOARD_SECRETS_FILE (or secrets.file, default <data_dir>/secrets.enc),
encrypted with AES-256-GCM under SWITCHBOARD_SECRET_KEY (or the key file in
SWITCHBOARD_SECRET_KEY_FILE / secrets.key_file): 32 random bytes, base64 or hex.
Refer to a secret in the configuration as "file:NAME".`;

export interface CommandIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** `switchboard secrets set|list|rm`: edits the encrypted file atomically. Returns the exit code. */
export async function secretsCommand(args: string[], io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [command, name, ...rest] = args;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    io.stdout.write(`${SECRETS_USAGE}\n`);
    return command ? 0 : 2;
  }
  const needsName = command === "set" || command === "rm";
  if ((needsName && (!name || rest.length > 0)) || (!needsName && name)) {
    io.stderr.write(`${needsName ? `"secrets ${command}" takes exactly one NAME` : `"secrets ${command}" takes no arguments`}\n\n${SECRETS_USAGE}\n`);
    return 2;
  }
  const config = loadConfig(io.env);
  const settings = config.secrets ?? buildSecrets(undefined, io.env, config.dataDir);
  const store = () => new EncryptedFileStore(settings.file, loadDataKey(io.env, settings.keyFile));

  switch (command) {
    case "set": {
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
      const width = Math.max(4, ...secrets.map(([n]) => n.length));
      io.stdout.write(`${"NAME".padEnd(width)}  FINGERPRINT  UPDATED\n`);
      for (const [secretName, secret] of secrets) io.stdout.write(`${secretName.padEnd(width)}  ${fingerprint(secret.value).padEnd(11)}  ${secret.updatedAt}\n`);
      return 0;
    }
    case "rm": {
      if (!store().remove(name!)) {
        io.stderr.write(`switchboard: no secret named "${name}" in ${settings.file}; nothing changed\n`);
        return 1;
      }
      io.stdout.write(`removed ${name} from ${settings.file}\n`);
      return 0;
    }
    default:
      io.stderr.write(`unknown secrets command "${command}"\n\n${SECRETS_USAGE}\n`);
      return 2;
  }
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
