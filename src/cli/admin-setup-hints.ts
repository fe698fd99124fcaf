import { existsSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_MASTER_KEY_FILE } from "../auth/generated-master-key-notice.js";

/**
 * What to do without an admin key. A gateway started without
 * SWITCHBOARD_MASTER_KEY and without a terminal (the quick start under npm,
 * docker, systemd) left the key it generated in its data directory: the
 * message says where (the path, never the key) and how to use it.
 */
export function noAdminKey(env: NodeJS.ProcessEnv): string {
  const file = join(env.SWITCHBOARD_DATA_DIR || "./data", GENERATED_MASTER_KEY_FILE);
  if (!existsSync(file)) return "no admin key: set SWITCHBOARD_ADMIN_KEY";
  return (
    `no admin key: set SWITCHBOARD_ADMIN_KEY. The master key the gateway generated is in ${file}:\n` +
    `  export SWITCHBOARD_ADMIN_KEY=$(cat ${shellWord(file)})\n` +
    "(then keep the key somewhere safe and delete that file)"
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
