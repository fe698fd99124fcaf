import { ANSWER_TOO_LARGE, ANSWER_TOO_LARGE_WORDS, readAtMost } from "./answer-size-limit.js";
import { answerCause } from "./source-cause.js";
import { redact, redactThenCut } from "./vault-error.js";
import { rememberOwnSecret } from "../providers/redact.js";
import { AWS_ATTEMPTS_PER_CALL } from "../config/secrets-config.js";

/** Where and how to reach one AWS service. */
export interface AwsSettings {
  region?: string;
  endpoint?: string;
  timeoutMs: number;
  /** The environment the gateway runs with: its AWS_ACCESS_KEY_ID … when set there, else the SDK's default chain. */
  env: NodeJS.ProcessEnv;
}

/**
 * Settings for an AWS SDK v3 client. Credentials come from the standard
 * chain (environment, shared config and credentials files, web identity,
 * container and instance metadata); keys given in the gateway's environment
 * are passed as they are, since an embedding program's environment need not
 * be the process's. Throttled and failed requests are retried by the SDK's
 * standard retry strategy (exponential backoff with jitter). Each attempt
 * is cut at `timeoutMs` (the call as a whole by withinAwsDeadline), and an
 * answer is read up to MAX_ANSWER_BYTES.
 */
export function awsClientSettings(settings: AwsSettings) {
  const { env } = settings;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
      : undefined;
  return {
    region: settings.region,
    endpoint: settings.endpoint,
    credentials,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: settings.timeoutMs,
      // @smithy/node-http-handler (4.14) only logs a warning when requestTimeout passes, aborting nothing, unless told to throw.
      requestTimeout: settings.timeoutMs,
      throwOnRequestTimeout: true,
      // requestTimeout ends with the answer's headers: this cuts a body that stalls after them.
      socketTimeout: settings.timeoutMs,
    },
    streamCollector: readAtMost,
  };
}

/** Attempts per AWS call: the first and two retries (the config bounds timeout_ms by them). */
const MAX_ATTEMPTS = AWS_ATTEMPTS_PER_CALL;

/**
 * Runs one AWS call within its deadline: `timeoutMs` for each of its
 * attempts, the backoff between them included (a body trickling in under the
 * socket timeout is cut there too). The SDK is handed the deadline's signal
 * (it stops retrying), and the call is given up at the deadline even where
 * the SDK does not watch it (resolving credentials), failing as timed out.
 */
export async function withinAwsDeadline<T>(timeoutMs: number, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // Shaped as a socket timeout, which awsProblem words "AWS unreachable: timed out".
      const timedOut = Object.assign(new Error(`no answer within ${timeoutMs * MAX_ATTEMPTS} ms`), { name: "TimeoutError", code: "ETIMEDOUT" });
      reject(timedOut);
      deadline.abort(timedOut);
    }, timeoutMs * MAX_ATTEMPTS);
  });
  try {
    return await Promise.race([send(deadline.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** What went wrong with an AWS call, in words safe for a log line or an error. */
export interface AwsProblem {
  message: string;
  /** AWS could not be reached or failed on its side: keep what is known, try again later. */
  unreachable: boolean;
  /** AWS asked the gateway to slow down. */
  throttled: boolean;
  /** In a few words, for the unauthenticated /healthz ("access denied", "throttled"): source-cause.ts. */
  cause?: string;
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  TimeoutError: "timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EPIPE: "connection reset",
};

/** What awsProblem needs of an SDK client to find the credentials it signed with. */
interface SigningClient {
  config: { credentials: () => Promise<{ secretAccessKey?: string; sessionToken?: string }> };
}

/**
 * The secret parts of the credentials an SDK client resolved from its chain
 * (a credentials file, web identity, container or instance metadata: the
 * usual case in production, where the environment holds none), remembered
 * as the gateway's own secrets so that every later redaction finds them too,
 * and returned for the error at hand. Asked only once AWS answered (the SDK
 * memoizes what it signed with), so that asking starts no resolution of its own.
 */
export async function resolvedCredentials(client: SigningClient | undefined, err: unknown): Promise<string[]> {
  if (!client || typeof (err as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode !== "number") return [];
  try {
    const identity = await client.config.credentials();
    const secrets = [identity.secretAccessKey, identity.sessionToken].filter((secret): secret is string => typeof secret === "string" && secret !== "");
    for (const secret of secrets) rememberOwnSecret(secret);
    return secrets;
  } catch {
    return [];
  }
}

const THROTTLING = new Set(["ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling", "RequestThrottled", "SlowDown"]);

/**
 * Rebuilds an AWS SDK error from its name, HTTP status and AWS's message,
 * with the credentials of the environment blanked out even there. The SDK's
 * error object (with its request and response) is never kept.
 */
export function awsProblem(err: unknown, operation: string, env: NodeJS.ProcessEnv = {}, resolved: readonly string[] = []): AwsProblem {
  const raw = err as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: { code?: unknown };
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: { throttling?: boolean };
  };
  const status = typeof raw?.$metadata?.httpStatusCode === "number" ? raw.$metadata.httpStatusCode : undefined;
  const name = typeof raw?.name === "string" ? raw.name : "Error";
  const code = [raw?.code, raw?.cause?.code, name].find((c): c is string => typeof c === "string" && c in NETWORK_WORDS);
  const throttled = THROTTLING.has(name) || raw?.$retryable?.throttling === true;
  const tooLarge = raw?.code === ANSWER_TOO_LARGE;
  const secrets = [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN, ...resolved];
  let detail: string;
  if (tooLarge) {
    detail = ANSWER_TOO_LARGE_WORDS;
  } else if (code && status === undefined) {
    detail = `AWS unreachable: ${NETWORK_WORDS[code]}`;
  } else if (name === "SyntaxError" && status !== undefined) {
    // An answer that is not AWS's JSON error (a proxy's page, an emulator's XML): the status is all there is to go on.
    detail = `HTTP ${status}${status === 401 || status === 403 ? " (the request was refused: check the AWS credentials and the IAM policy)" : " (an answer that is not AWS's)"}`;
  } else {
    const said = typeof raw?.message === "string" ? redactThenCut(raw.message.split("\n", 1)[0]!, secrets, 300) : "";
    detail = `${name}${status !== undefined ? ` (HTTP ${status})` : ""}${said && said !== name ? `: ${said}` : ""}`;
  }
  return {
    message: redact(`AWS ${operation} failed: ${detail}`, secrets),
    unreachable: (code !== undefined && status === undefined) || (status !== undefined && status >= 500) || throttled,
    throttled,
    cause: answerCause({ status, network: code, throttled, name, tooLarge }),
  };
}
