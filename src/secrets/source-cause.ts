import { ANSWER_TOO_LARGE } from "./answer-size-limit.js";
import { VaultError } from "./vault-error.js";

/**
 * Why a secret source (Vault, AWS Secrets Manager) cannot be read, in the
 * few words the unauthenticated /healthz may show: "unreachable" (refused,
 * reset or timed out alike, so an outage does not flap between them),
 * "access denied", "not found", "throttled", "no credentials", "cannot
 * decrypt", "answer too large", "HTTP 503", "no usable version", "failed".
 * Never the backend's own words: AWS's name the account, the IAM role and
 * the instance, and Vault's can echo the request. The whole message goes to
 * the log line.
 */
export function sourceCause(err: unknown): string {
  if (err instanceof VaultError) return answerCause({ status: err.status, network: err.code, throttled: err.status === 429, tooLarge: err.code === ANSWER_TOO_LARGE });
  // AWS calls' errors carry their AwsProblem (aws-secret-source.ts), its cause among it.
  const cause = (err as { problem?: { cause?: unknown } } | undefined)?.problem?.cause;
  if (typeof cause === "string") return cause;
  // The backend answered, but with nothing the gateway can serve (no labelled version, a binary secret, …).
  return "no usable version";
}

/** What an answer (or its absence) from a backend came to. */
export interface AnswerFacts {
  /** The HTTP status, when the backend answered. */
  status?: number;
  /** The network error (ECONNREFUSED, TimeoutError, …), when it did not answer. */
  network?: string;
  throttled?: boolean;
  /** The error's name (AWS's exception name: AccessDeniedException, …). */
  name?: string;
  /** The answer was larger than MAX_ANSWER_BYTES (answer-size-limit.ts), so it was not read whole. */
  tooLarge?: boolean;
}

/** AWS's names for a refused caller: its credentials or its IAM policy. */
const DENIED = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "NotAuthorized",
]);

/** The coarse cause of a failed call from the facts of its answer. */
export function answerCause(facts: AnswerFacts): string {
  const { status, network, name } = facts;
  if (facts.throttled) return "throttled";
  if (facts.tooLarge) return "answer too large";
  if (status === undefined && network !== undefined) return "unreachable";
  if (name === "CredentialsProviderError") return "no credentials";
  if ((name !== undefined && DENIED.has(name)) || status === 401 || status === 403) return "access denied";
  if (name === "ResourceNotFoundException" || status === 404) return "not found";
  if (name === "DecryptionFailure") return "cannot decrypt";
  if (status !== undefined) return `HTTP ${status}`;
  return "failed";
}
