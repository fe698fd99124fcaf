import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MASTER_KEY_REPLACED_FILE } from "../auth/bootstrap.js";
import { GENERATED_MASTER_KEY_FILE } from "../auth/generated-master-key-notice.js";

/**
 * What to do without an admin key. A gateway started without
 * SWITCHBOARD_MASTER_KEY and without a terminal (the quick start under npm,
 * docker, systemd) left the key it generated in its data directory: the
 * message says where (the path, never the key) and how to use it. Once the
 * gateway has been started with SWITCHBOARD_MASTER_KEY (its data directory
 * says so), that file's key is refused while the variable is set: the
 * variable's value comes first. The CLI cannot see the gateway's
 * environment, nor whether the variable was unset since, so it says both.
 */
export function noAdminKey(env: NodeJS.ProcessEnv): string {
  const dataDir = env.SWITCHBOARD_DATA_DIR || "./data";
  const file = join(dataDir, GENERATED_MASTER_KEY_FILE);
  if (!existsSync(file)) return "no admin key: set SWITCHBOARD_ADMIN_KEY";
  const fromFile = `export SWITCHBOARD_ADMIN_KEY=$(cat ${shellWord(file)})`;
  if (existsSync(join(dataDir, MASTER_KEY_REPLACED_FILE))) {
    return (
      `no admin key: set SWITCHBOARD_ADMIN_KEY. The gateway has been started with SWITCHBOARD_MASTER_KEY since it generated the master key in ${file}: ` +
      "while it runs with that variable, the variable's value is its master key (the generated one is refused):\n" +
      "  export SWITCHBOARD_ADMIN_KEY='<the SWITCHBOARD_MASTER_KEY the gateway runs with>'\n" +
      `(started without the variable, it takes the generated key again: ${fromFile})`
    );
  }
  return `no admin key: set SWITCHBOARD_ADMIN_KEY. The master key the gateway generated is in ${file}:\n  ${fromFile}\n(then keep the key somewhere safe and delete that file)`;
}

/**
 * Why the gateway refused an admin key that is the one it generated (the file
 * above): a gateway started with SWITCHBOARD_MASTER_KEY refuses the generated
 * key while the variable is set, but the file stays. Undefined when the key
 * is another.
 */
export function generatedKeyRefusedHint(env: NodeJS.ProcessEnv): string | undefined {
  const key = env.SWITCHBOARD_ADMIN_KEY?.trim();
  if (!key) return undefined;
  const file = join(env.SWITCHBOARD_DATA_DIR || "./data", GENERATED_MASTER_KEY_FILE);
  let generated: string;
  try {
    generated = readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
  if (generated !== key) return undefined;
  return (
    `SWITCHBOARD_ADMIN_KEY is the master key generated in ${file}, which a gateway started with ` +
    "SWITCHBOARD_MASTER_KEY refuses: use that variable's value instead (or start the gateway without it)"
  );
}

/** A path as one shell word: as is when it is plain, else single-quoted. */
function shellWord(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * What is wrong with SWITCHBOARD_URL, if anything the transport would word
 * badly: without a scheme ("localhost:8080", the form SWITCHBOARD_ADDR takes
 * in every grpcurl example) it reads "localhost:" as the scheme and answers
 * `Protocol "localhost:" not supported`. The value is repeated only when it
 * is a plain address: one with a user and password in it is not.
 */
export function urlProblem(url: string): string | undefined {
  if (/^https?:\/\//i.test(url)) return undefined;
  const plainAddress = /^[A-Za-z0-9.[\]:-]+(?:\/[\w./-]*)?$/.test(url) && url.length <= 200;
  const example = plainAddress ? `SWITCHBOARD_URL=http://${url}` : "SWITCHBOARD_URL=http://localhost:8080";
  return `SWITCHBOARD_URL needs a scheme, http:// or https://, before the gateway's address (e.g. ${example})`;
}
