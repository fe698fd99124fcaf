import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { EARLIEST_MS, LATEST_MS } from "../api/admin/usage-requests.js";
import { printable } from "../common/control-characters.js";
import { reasonOf } from "../common/gateway-error.js";
import { urlWithoutCredentials } from "../common/url-without-credentials.js";
import { maskLogText, redactAnswerText, rememberSecret } from "../providers/redact.js";
import { generatedKeyRefusedHint, noAdminKey, urlProblem } from "./admin-setup-hints.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** The variables that say which gateway an admin command calls, and as whom. */
export const ADMIN_CONNECTION_VARIABLES = `  SWITCHBOARD_URL        the gateway's address (default http://127.0.0.1:$PORT, PORT defaulting to 8080)
  SWITCHBOARD_ADMIN_KEY  the master key or a gateway key with the admin scope
                         (SWITCHBOARD_MASTER_KEY is used when it is not set)`;

export const ADMIN_CONNECTION_HELP = `The command calls a running gateway's AdminService:
${ADMIN_CONNECTION_VARIABLES}`;

/**
 * The operator CLI talks to a running gateway, not to the store: it works the
 * same on SQLite and Postgres, goes through the same validation and admin
 * scope check, and a revocation is announced to every instance at once. The
 * admin key comes from the environment, never from the command line (where
 * `ps` and shell history would show it).
 */
export function adminClient({ env, stderr }: Pick<CliIo, "env" | "stderr">): Client<typeof AdminService> {
  const key = adminKeyOf(env);
  if (!key) throw new CliError(`${noAdminKey(env)}\n\n${ADMIN_CONNECTION_HELP}`, 2);
  // fetch would refuse the header with a message quoting it, key and all (a line break from a pasted key is enough).
  if (!HEADER_SAFE_KEY.test(key)) {
    const variable = env.SWITCHBOARD_ADMIN_KEY ? "SWITCHBOARD_ADMIN_KEY" : "SWITCHBOARD_MASTER_KEY";
    throw new CliError(`${variable} contains characters a header cannot carry (only printable ASCII, no spaces or line breaks): check how it was set`, 2);
  }
  const baseUrl = gatewayUrl(env);
  const badUrl = urlProblem(baseUrl);
  if (badUrl) throw new CliError(badUrl, 2);
  if (cleartextBeyondHost(baseUrl)) {
    stderr.write(
      `switchboard: warning: ${urlWithoutCredentials(baseUrl)} is plain http:// to another host: the admin key (and any secret value the command sends) crosses the network unencrypted; use an https:// SWITCHBOARD_URL\n`,
    );
  }
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  return createClient(AdminService, createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [auth] }));
}

function gatewayUrl(env: NodeJS.ProcessEnv): string {
  return env.SWITCHBOARD_URL || `http://127.0.0.1:${env.PORT || 8080}`;
}

/**
 * Whether the admin key would travel in clear beyond this host: an http:// URL whose host is not loopback.
 * Warned about, not refused: the docs only advise https beyond the host, and scripts calling a gateway over a
 * private network (a cluster's service address) must keep working; the warning makes the risk seen.
 */
function cleartextBeyondHost(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false; // the transport reports a malformed URL itself
  }
  if (parsed.protocol !== "http:") return false;
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return !(host === "localhost" || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1");
}

/** Gateway keys are printable ASCII without spaces: anything else is a paste or quoting mistake. */
const HEADER_SAFE_KEY = /^[\x21-\x7e]+$/;

function adminKeyOf(env: NodeJS.ProcessEnv): string | undefined {
  return env.SWITCHBOARD_ADMIN_KEY || env.SWITCHBOARD_MASTER_KEY;
}

/**
 * A message with the admin key cut out wherever it appears: whatever failed (a wrong SWITCHBOARD_URL, an
 * intercepting proxy that echoes the header), stderr and a CI log never show it. As written it is named;
 * in any other form the gateway's own redaction finds (any case, base64, hex, %-encoded, a piece of 12
 * characters or more) it is cut too, and key-shaped runs keep only their hint. Not redactSecrets: its
 * generic patterns would blank the key names ("keys/ci-bot") the gateway's messages quote.
 */
function withoutKey(message: string, env: NodeJS.ProcessEnv): string {
  const key = adminKeyOf(env);
  if (!key) return message;
  const named = message.split(key).join("[admin key]");
  // The terminal of the key's own holder, as the gateway's log lines: pieces of the key (one cut short) are cut too.
  rememberSecret(key);
  return maskLogText(redactAnswerText(named, named.length, undefined, [key]));
}

/** Whether a command line asks for help, wherever the flag stands (`keys create --help`). */
export function asksForHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/** A failure to report in one line, with the exit code to leave with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Runs a command body; turns errors into a message on stderr and an exit code. */
export async function runCli(io: CliIo, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`switchboard: ${withoutKey(err.message, io.env)}\n`);
      return err.exitCode;
    }
    const error = ConnectError.from(err);
    // Every answer of the gateway carries ErrorInfo: an error without one never reached it (refused, reset, a proxy's page).
    const answered = reasonOf(error) !== undefined;
    const hint =
      !answered && (error.code === Code.Unavailable || error.code === Code.Unknown || error.code === Code.Internal)
        ? `\n(is the gateway running at ${urlWithoutCredentials(gatewayUrl(io.env))}? set SWITCHBOARD_URL)`
        : reasonOf(error) === "STORE_UNAVAILABLE"
          ? "\n(the gateway is running, but its database cannot be reached: nothing was changed; retry once the database is back)"
          : error.code === Code.Unauthenticated || reasonOf(error) === "ADMIN_SCOPE_REQUIRED"
            ? `\n(${(error.code === Code.Unauthenticated && generatedKeyRefusedHint(io.env)) || "SWITCHBOARD_ADMIN_KEY must be the master key or a key with the admin scope"})`
            : "";
    // The gateway's message may quote a name an admin or a caller chose: its control characters are written out.
    io.stderr.write(`switchboard: ${Code[error.code]}: ${printable(withoutKey(error.rawMessage, io.env))}${hint}\n`);
    return 1;
  }
}

/** Columns aligned with two spaces; numbers right-aligned; control characters written out. */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => /^(-?[\d.,]+|-|)$/.test(row[i] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** "7d", "12h", "30m", "2w" → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[match[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(match[1]) * unit;
}

/** A moment: "7d" (ago), or an ISO date/time. */
export function parseMoment(text: string, name: string, now = Date.now()): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return inTimestampRange(now - ago, text, name);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new CliError(`${name}: "${text}" is neither a duration such as 7d nor a date such as 2026-01-31`, 2);
  return inTimestampRange(ms, text, name);
}

/** A moment a request can carry: google.protobuf.Timestamp names 0001-01-01 to 9999-12-31, and no other. */
function inTimestampRange(ms: number, text: string, name: string): number {
  if (ms >= EARLIEST_MS && ms <= LATEST_MS) return ms;
  throw new CliError(`${name}: "${text}" is outside the times the gateway takes, 0001-01-01 to 9999-12-31`, 2);
}
