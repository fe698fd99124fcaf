import type { Credential } from "../secrets/credential.js";

// Things that look like keys or tokens: "sk-…", "Bearer …", vendor key prefixes, masked echoes ("sk-ab***yz").
const KEY_LIKE = /\b(?:sk|pk|rk|ak|bce-v3|ALTAK|AIza|key|token)[-_/]?[A-Za-z0-9*._/+=-]{6,}/g;
// Groq's "gsk_…" (no word boundary before its "sk") and xAI's "xai-…": a long unbroken run after the exact
// prefix, so model names such as "xai/grok-4" or "xai-grok-beta" stay readable.
const PREFIXED_KEY = /\b(?:gsk_|xai-)[A-Za-z0-9*]{16,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** The shortest secret redacted (shorter ones would blank ordinary words). */
const MIN_SECRET_CHARS = 4;
/** The shortest piece of a secret's base64 inside a longer encoded text that is redacted on its own. */
const MIN_EMBEDDED_CHARS = 12;
/** Secrets whose forms are kept compiled: a pool's keys and their versions, the vendors' access tokens. */
const MATCHERS_KEPT = 256;
const matchers = new Map<string, RegExp>();

/**
 * Removes anything secret from text that came back from a vendor before it is
 * shown to a caller or logged: vendors echo keys in their error messages
 * (OpenAI: "Incorrect API key provided: sk-ab***yz"), and a hostile one may
 * echo them encoded. Each known secret is found in any case, and as base64
 * (standard or URL-safe, alone or inside a longer encoded text) and hex.
 */
export function redactSecrets(text: string, credential?: Credential, alsoSecret: readonly string[] = []): string {
  let out = text;
  for (const secret of [credential?.secret, credential?.secondary, ...alsoSecret]) {
    if (secret && secret.length >= MIN_SECRET_CHARS) out = out.replace(matcherFor(secret), "[redacted]");
  }
  return out.replace(BEARER, "$1 [redacted]").replace(PREFIXED_KEY, "[redacted]").replace(KEY_LIKE, "[redacted]");
}

/** One pattern for every form of a secret, compiled once per secret (the most recently used are kept). */
function matcherFor(secret: string): RegExp {
  let matcher = matchers.get(secret);
  if (matcher) {
    matchers.delete(secret); // most recently used last: the oldest go first
  } else {
    matcher = new RegExp(encodedForms(secret).map(escapeRegExp).join("|"), "gi");
    if (matchers.size >= MATCHERS_KEPT) matchers.delete(matchers.keys().next().value!);
  }
  matchers.set(secret, matcher);
  return matcher;
}

/**
 * The forms a secret may be echoed in, longest first (so the whole form is
 * matched before a part of it): itself, its base64 (with and without
 * padding), base64url and hex, and the part of its base64 that is the same
 * wherever it sits in a longer encoded text ("Bearer sk-…" or a JSON body,
 * base64-encoded: three alignments, less the characters its neighbours share).
 * Matched without regard to case, which also finds upper-case hex.
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([secret, bytes.toString("hex")]);
  const base64 = bytes.toString("base64");
  forms.add(base64);
  forms.add(base64.replace(/=+$/, ""));
  forms.add(bytes.toString("base64url"));
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    // Characters whose six bits all come from the secret's bytes.
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (core.length < MIN_EMBEDDED_CHARS) continue;
    forms.add(core);
    forms.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
