import type { Credential } from "../secrets/credential.js";
import { LONGEST_ESCAPE, unescaped } from "./escaped-text.js";

// Things that look like keys or tokens: "sk-…", "Bearer …", vendor key prefixes, masked echoes ("sk-ab***yz").
// Every run in these patterns is capped at RUN_CAP characters and a match is then carried over the rest of its
// run by hand (replaceRuns): V8's regexp engine keeps one backtrack entry per character of an uncapped run
// ("{32,}") and throws RangeError on a run of a few million (a 6 MB hex prompt), which must never happen here.
const KEY_LIKE = /\b(?:sk|pk|rk|ak|bce-v3|ALTAK|AIza|key|token)[-_/]?[A-Za-z0-9*._/+=-]{6,256}/g;
const KEY_LIKE_RUN = /[A-Za-z0-9*._/+=-]/;
// Groq's "gsk_…" (no word boundary before its "sk") and xAI's "xai-…": a long unbroken run after the exact
// prefix, so model names such as "xai/grok-4" or "xai-grok-beta" stay readable.
const PREFIXED = String.raw`(?:gsk_|xai-)[A-Za-z0-9*]{16,256}`;
const PREFIXED_RUN = /[A-Za-z0-9*]/;
const PREFIXED_KEY = new RegExp(String.raw`\b${PREFIXED}`, "g");
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{1,256}/gi;
const BEARER_RUN = /[A-Za-z0-9._~+/=-]/;
/** The most characters one run in the patterns above and below matches; a longer run is carried on by replaceRuns. */
const RUN_CAP = 256;

/** The shortest secret redacted (shorter ones would blank ordinary words). */
const MIN_SECRET_CHARS = 4;
/** The shortest piece of a secret's base64 inside a longer encoded text that is redacted on its own. */
const MIN_EMBEDDED_CHARS = 12;
/** The shortest piece of a secret redacted on its own: a key cut short, split by a space, or escaped. */
const MIN_PIECE_CHARS = 12;
/** Vendor secrets remembered (every pool's keys, their versions); past this the oldest are forgotten. */
const SECRETS_KEPT = 1024;
/** Secrets whose forms are kept compiled: the pools' keys and their versions, the vendors' access tokens. */
const MATCHERS_KEPT = SECRETS_KEPT + 256;
const matchers = new Map<string, RegExp>();

/** Every vendor secret of the gateway's pools, in the order they were learnt (see rememberSecret), and the gateway's own (rememberOwnSecret). */
const known = new Set<string>();
/** The gateway's own secrets among the known: never forgotten, however many vendor keys come and go. */
const own = new Set<string>();
/** The pieces of the known secrets (see pieceIndex), built again when a secret is learnt. */
let knownPieces: Set<string> | undefined;
/** The known secrets' whole forms, as written (see wholeFormIndex), built again when a secret is learnt. */
let knownWholeForms: WholeFormIndex | undefined;
/** The known secrets in lower case, for vendor text read with its escapes (see wholeFormIndex), built again when a secret is learnt. */
let knownWholeDecoded: WholeFormIndex | undefined;

/**
 * Makes every later redaction find `secret` too, whichever key an attempt
 * used: a vendor's answer to one key of a pool may quote another (the
 * organization's key list, a proxy's log), and keys not shaped like `sk-…`
 * (Zhipu's, Qianfan's) match no generic pattern. Called for every credential.
 */
export function rememberSecret(secret: string): void {
  if (secret.length < MIN_SECRET_CHARS || known.has(secret)) return;
  if (known.size >= SECRETS_KEPT) forgetOldestVendorSecret();
  known.add(secret);
  forgetIndexes();
}

function forgetIndexes(): void {
  knownPieces = undefined;
  knownWholeForms = undefined;
  knownWholeDecoded = undefined;
}

/**
 * rememberSecret for a secret of the gateway's own (its master key, the data
 * key of its encrypted stores, its Vault token, its AWS secret key), kept for
 * good: most are shaped like no key, and a vendor or a proxy that echoes one
 * must not have it printed. One shorter than MIN_PIECE_CHARS (a dev Vault's
 * token "root") is an ordinary word, as for holdsSecret.
 */
export function rememberOwnSecret(secret: string): void {
  if (secret.length < MIN_PIECE_CHARS) return;
  own.add(secret);
  rememberSecret(secret);
}

function forgetOldestVendorSecret(): void {
  for (const secret of known) {
    if (own.has(secret)) continue;
    known.delete(secret);
    forgetIndexes();
    return;
  }
}

/**
 * Whether `text` (a caller's: a name, a reference, a filter) holds, whole, a
 * vendor secret of the gateway's pools (see rememberSecret) or one of
 * `alsoSecret`: as written or in one of its encoded forms, exactly (see
 * holdsKnownSecret for why never a piece, never another case). Only secrets
 * of at least MIN_PIECE_CHARS count: a shorter placeholder key ("ollama",
 * "none") is an ordinary word.
 */
export function holdsSecret(text: string, alsoSecret: readonly string[] = []): boolean {
  if (holdsKnownSecret(text)) return true;
  const others = alsoSecret.filter((secret) => secret.length >= MIN_PIECE_CHARS && !known.has(secret));
  return others.length > 0 && redactWholeForms(text, wholeFormIndex(others, encodedForms)) !== text;
}

/**
 * Removes anything secret from text that came back from a vendor before it is
 * shown to a caller or logged: vendors echo keys in their error messages
 * (OpenAI: "Incorrect API key provided: sk-ab***yz"), and a hostile one may
 * echo them encoded. Each secret (the attempt's, the other given ones, and
 * every key of every pool) is found whole, in any case, as base64 (standard
 * or URL-safe, alone or inside a longer encoded text) and hex, and
 * escaped (%-encoded in a URL, JSON- or HTML-escaped: escaped-text.ts). Not
 * a piece of one: a vendor echoes what a caller sent (a model it does not
 * serve), and a caller must not learn from the answer whether its text
 * held a piece of a secret (see holdsKnownSecret).
 * The log's own net (maskLogText) finds pieces too.
 */
export function redactSecrets(text: string, credential?: Credential, alsoSecret: readonly string[] = []): string {
  let out = text;
  const given = givenSecrets(credential, alsoSecret);
  for (const secret of new Set([...given, ...known])) out = out.replace(matcherFor(secret), "[redacted]");
  out = redactWholeDecoded(out, given);
  out = replaceRuns(out, BEARER, () => BEARER_RUN, (_run, match) => `${match[1]} [redacted]`);
  out = replaceRuns(out, PREFIXED_KEY, () => PREFIXED_RUN, () => "[redacted]");
  return replaceRuns(out, KEY_LIKE, () => KEY_LIKE_RUN, () => "[redacted]");
}

/**
 * A short text a vendor's successful answer says of itself (its id, its
 * model's name), as the gateway passes it on and records it, on every call:
 * at most `maxChars` characters, with the attempt's own secrets found in any
 * form, as redactSecrets finds them; every other known secret found whole, as
 * written (in any case) or escaped, never by a piece (a vendor may echo the
 * model the caller named); key shapes cut to their hints. Not redactSecrets
 * whole: its pattern per known secret (a thousand with large pools) is paid
 * on a failure's text, not on every answer. Only the start of a long text is
 * read, and what is kept of it was all read with the characters after it, so
 * no secret is cut in two before it is found.
 */
export function redactAnswerText(text: string, maxChars: number, credential?: Credential, alsoSecret: readonly string[] = []): string {
  const given = givenSecrets(credential, alsoSecret);
  // Room for the longest secret in its longest form (escaped: up to LONGEST_ESCAPE characters each).
  const margin = LONGEST_ESCAPE * Math.max(wholeDecodedIndex().longest, ...given.map((secret) => secret.length));
  const read = text.slice(0, maxChars + margin);
  let out = read;
  for (const secret of given) out = out.replace(matcherFor(secret), "[redacted]");
  out = redactWholeDecoded(out, given);
  if (out.length >= SHORTEST_KEY) out = maskKeyShapes(out);
  // The last characters read may begin a secret too little of which was read to find it: they are not kept.
  const keep = read.length < text.length ? Math.max(0, Math.min(maxChars, out.length - margin)) : maxChars;
  return out.length <= keep ? out : cutText(out, keep);
}

/** The first `chars` characters of `text`, not between the halves of a surrogate pair (a lone half is not text, and encoders replace it). */
export function cutText(text: string, chars: number): string {
  const high = text.charCodeAt(chars - 1);
  return text.slice(0, high >= 0xd800 && high <= 0xdbff ? chars - 1 : chars);
}

/** The secrets of an attempt (its credential's, and those its authorization derived) long enough to be redacted. */
function givenSecrets(credential: Credential | undefined, alsoSecret: readonly string[]): string[] {
  return [credential?.secret, credential?.secondary, ...alsoSecret].filter((secret): secret is string => !!secret && secret.length >= MIN_SECRET_CHARS);
}

/** Whole forms of secrets by their first MIN_PIECE_CHARS characters (longest first), and the longest form's length. */
interface WholeFormIndex {
  byStart: Map<string, string[]>;
  longest: number;
}

/** The `formsOf` each secret of at least MIN_PIECE_CHARS characters, indexed by how they start: one lookup a character finds them all. */
function wholeFormIndex(secrets: Iterable<string>, formsOf: (secret: string) => string[]): WholeFormIndex {
  const byStart = new Map<string, string[]>();
  let longest = 0;
  for (const secret of secrets) {
    if (secret.length < MIN_PIECE_CHARS) continue;
    for (const form of formsOf(secret)) {
      const start = form.slice(0, MIN_PIECE_CHARS);
      const forms = byStart.get(start) ?? [];
      if (!forms.includes(form)) forms.push(form);
      byStart.set(start, forms.sort((a, b) => b.length - a.length));
      longest = Math.max(longest, form.length);
    }
  }
  return { byStart, longest };
}

/** The known secrets' whole forms as written, for a caller's text. */
function knownFormsIndex(): WholeFormIndex {
  return (knownWholeForms ??= wholeFormIndex(known, encodedForms));
}

/** The known secrets in lower case, for vendor text read with its escapes and in lower case. */
function wholeDecodedIndex(): WholeFormIndex {
  return (knownWholeDecoded ??= wholeFormIndex(known, (secret) => [asciiLower(secret)]));
}

/** `text` with each whole form in `index` found exactly (same case, not decoded) written "[redacted]". */
function redactWholeForms(text: string, index: WholeFormIndex): string {
  if (text.length < MIN_PIECE_CHARS || index.byStart.size === 0) return text;
  let out = "";
  let from = 0;
  for (let i = 0; i + MIN_PIECE_CHARS <= text.length; ) {
    const form = index.byStart.get(text.slice(i, i + MIN_PIECE_CHARS))?.find((candidate) => text.startsWith(candidate, i));
    if (!form) {
      i++;
      continue;
    }
    out += `${text.slice(from, i)}[redacted]`;
    i += form.length;
    from = i;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Vendor text with every known secret and each of `others`, whole, found as
 * written or escaped (a secret quoted in a URL, a JSON string, an HTML
 * page) and in any case, written "[redacted]": one lookup a character,
 * however many secrets are known. A
 * whole match in another case tells a caller whose text a vendor echoed
 * nothing it could grow a guess from: it needs every character already.
 */
function redactWholeDecoded(text: string, others: readonly string[]): string {
  const indexes = [wholeDecodedIndex()];
  const extra = others.filter((secret) => !known.has(secret));
  if (extra.length > 0) indexes.push(wholeFormIndex(extra, (secret) => [asciiLower(secret)]));
  return redactCovered(text, (view, covered) => {
    let any = false;
    for (let i = 0; i + MIN_PIECE_CHARS <= view.length; i++) {
      const start = view.slice(i, i + MIN_PIECE_CHARS);
      for (const index of indexes) {
        const form = index.byStart.get(start)?.find((candidate) => view.startsWith(candidate, i));
        if (form) {
          covered.fill(1, i, i + form.length);
          any = true;
        }
      }
    }
    return any;
  });
}

/**
 * Replaces every run of text (read with its escapes) made of pieces of a known
 * secret with "[redacted]": one lookup a character, however many secrets are
 * known. Only for the log's own net (maskLogText): whether a text holds a
 * piece of a secret must never change what a caller sees.
 */
function redactPieces(text: string): string {
  knownPieces ??= pieceIndex(known);
  if (knownPieces.size === 0) return text;
  const pieces = knownPieces;
  return redactCovered(text, (view, covered) => {
    let any = false;
    for (let i = 0; i + MIN_PIECE_CHARS <= view.length; i++) {
      if (pieces.has(view.slice(i, i + MIN_PIECE_CHARS))) {
        covered.fill(1, i, i + MIN_PIECE_CHARS);
        any = true;
      }
    }
    return any;
  });
}

/**
 * Replaces each run of `text` that `cover` marks in its view (the text
 * read with its escapes, in lower case: see decodedView) with "[redacted]";
 * `cover` tells whether it marked any.
 */
function redactCovered(text: string, cover: (view: string, covered: Uint8Array) => boolean): string {
  if (text.length < MIN_PIECE_CHARS) return text;
  const view = decodedView(text);
  const covered = new Uint8Array(view.text.length);
  if (!cover(view.text, covered)) return text;
  const startOf = (i: number) => (view.starts ? view.starts[i]! : i);
  let out = "";
  let from = 0;
  for (let i = 0; i < covered.length; i++) {
    if (!covered[i] || (i > 0 && covered[i - 1])) continue;
    let end = i;
    while (end < covered.length && covered[end]) end++;
    out += `${text.slice(from, startOf(i))}[redacted]`;
    from = startOf(end);
  }
  return out + text.slice(from);
}

/**
 * Every piece of MIN_PIECE_CHARS characters of each secret's own part (past its vendor prefix: see
 * vendorPrefixLength), in lower case (matched without regard to case, like the whole forms).
 */
function pieceIndex(secrets: Iterable<string>): Set<string> {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    const lower = asciiLower(secret);
    for (let i = vendorPrefixLength(secret); i + MIN_PIECE_CHARS <= lower.length; i++) pieces.add(lower.slice(i, i + MIN_PIECE_CHARS));
  }
  return pieces;
}

/**
 * How many leading characters of `secret` every key of its vendor shares ("sk-ant-api03-", "sk-proj-",
 * "gsk_"): for a secret shaped like a prefixed vendor key, its leading segments, each closed by "-", "_"
 * or ".", within the first MIN_PIECE_CHARS + 1 characters; else none. A piece of that part names no
 * key: matched, it would blank the start of another key of the same vendor and leave the rest unmasked.
 */
function vendorPrefixLength(secret: string): number {
  const shaped = PREFIXED_KEY_AT_START.exec(secret);
  if (!shaped || shaped[1] !== undefined) return 0;
  const head = secret.slice(0, MIN_PIECE_CHARS + 1);
  return Math.max(head.lastIndexOf("-"), head.lastIndexOf("_"), head.lastIndexOf(".")) + 1;
}

/** The text with its escapes read (escaped-text.ts), in lower case, and where each of its characters starts in the original (see unescaped). */
function decodedView(text: string): { text: string; starts?: number[] } {
  const view = unescaped(text);
  return { text: asciiLower(view.text), starts: view.starts };
}

/** Lower case for A-Z only: the length stays the same (toLowerCase may change it for other letters). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
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
 * Vendor text is matched without regard to case (redactSecrets); a caller's
 * text exactly, hex in either case (maskKeys).
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([secret, bytes.toString("hex"), bytes.toString("hex").toUpperCase()]);
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

/**
 * Text shaped like an API key, whoever wrote it: the gateway's own keys
 * ("sk-sb-…") and OpenAI's, Anthropic's, DeepSeek's and OpenRouter's
 * ("sk-…", "sk-proj-…", "sk-ant-…"), Google's ("AIza…"), Hugging Face's
 * ("hf_…"), Groq's and xAI's (PREFIXED), Vault's tokens ("hvs.…", "hvb.…",
 * "hvr.…", and the older "s." with 24 letters and digits), AWS access key ids
 * ("AKIA…", "ASIA…"), and any unbroken run of 32 letters
 * and digits (keys without a prefix, such as Mistral's or Cohere's; such a
 * run counts only when it mixes upper case, lower case and digits, which hex
 * ids and hashes do not). Not after a letter or digit: "risk-…" holds no key.
 * Model names stay as they are: none has such a run.
 */
const KEY_SHAPED_SOURCE = String.raw`(?<![A-Za-z0-9])(?:sk-[\w-]{20,256}|AIza[\w-]{30,256}|hf_[A-Za-z0-9]{30,256}|${PREFIXED}|hv[sbr]\.[\w-]{20,256}|s\.[A-Za-z0-9]{24}(?![A-Za-z0-9])|A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])|([A-Za-z0-9]{32,256}))`;
const KEY_SHAPED = new RegExp(KEY_SHAPED_SOURCE, "g");
/** A secret shaped like a vendor key with a prefix (KEY_SHAPED, less its bare run of letters and digits), from its first character. */
const PREFIXED_KEY_AT_START = new RegExp(`^(?:${KEY_SHAPED_SOURCE})`);
/** The characters a masked key keeps, as a gateway key's hint does (src/auth/key-policy.ts): enough to tell which kind it was. */
const HINT_CHARS = 6;
/** The shortest text KEY_SHAPED can match: shorter text is returned at once. */
const SHORTEST_KEY = 20;

/**
 * `text` with every known secret (the gateway's own, such as its master key,
 * and the pools' vendor keys, whatever their shape) written "[redacted]",
 * and every key-shaped run (KEY_SHAPED) cut to its first 6 characters and
 * "…" ("sk-sb-…"): for what a caller chose and the gateway writes down (a
 * model name, a request id, a tool name in an error) in log lines, spans,
 * ledger rows, metric labels and error messages, where a pasted key must not
 * be kept. A known secret is found whole only, as written or in one of its
 * encoded forms, exactly (see holdsKnownSecret: never a piece, never another
 * case). Cheap enough for every field of every line: the known secrets by
 * one lookup a character (not a pattern per secret), the shapes by one
 * pattern, and text shorter than any of them (most model names) costs nothing.
 */
export function maskKeys(text: string): string {
  const out = redactWholeForms(text, knownFormsIndex());
  if (out.length < SHORTEST_KEY) return out;
  return maskKeyShapes(out);
}

/** `text` with every KEY_SHAPED run, of any length, cut to its hint (maskedKey). */
function maskKeyShapes(text: string): string {
  return replaceRuns(text, KEY_SHAPED, keyRunGoesOn, (run, match) => maskedKey(run, match[1] === undefined ? undefined : run));
}

const WORD_OR_DASH = /[\w-]/;
const LETTER_OR_DIGIT = /[A-Za-z0-9]/;

/**
 * The characters a KEY_SHAPED match that reached RUN_CAP goes on with: its
 * alternative's run, told by its prefix (at that length no other alternative
 * can have matched: the fixed-length ones are shorter, and "AIza…" or "hf_…"
 * as long is always the prefixed one).
 */
function keyRunGoesOn(match: RegExpExecArray): RegExp | undefined {
  const run = match[0];
  if (run.length < RUN_CAP) return undefined;
  if (/^(?:sk-|AIza|hv[sbr]\.)/.test(run)) return WORD_OR_DASH;
  if (/^(?:gsk_|xai-)/.test(run)) return PREFIXED_RUN;
  return LETTER_OR_DIGIT;
}

/**
 * `text.replace(pattern, replace)` for a global pattern whose runs are capped
 * (RUN_CAP), with each match carried on over the rest of its run (the
 * characters `goesOn` gives for it) by a plain loop, so that a run of any
 * length is replaced whole, as the uncapped pattern would replace it, and
 * nothing here ever overflows. A match that ended before its cap ended its run: going on is a no-op.
 */
function replaceRuns(text: string, pattern: RegExp, goesOn: (match: RegExpExecArray) => RegExp | undefined, replace: (run: string, match: RegExpExecArray) => string): string {
  let out = "";
  let from = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    let end = match.index + match[0].length;
    const run = goesOn(match);
    if (run) while (end < text.length && run.test(text[end]!)) end++;
    out += text.slice(from, match.index) + replace(text.slice(match.index, end), match);
    from = end;
    pattern.lastIndex = end;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * maskKeys for the gateway's own log lines, which no caller reads: also every
 * piece of 12 characters or more of a known secret, in any case, escaped
 * too (a vendor's words quoting a key cut short or split by a space). Keys
 * are masked by shape first, on the text as written: a piece redacted first
 * could take a key's prefix away and leave the rest of it unrecognisable.
 */
export function maskLogText(text: string): string {
  return redactPieces(maskKeys(text));
}

/** Characters read past an excerpt's end, so that a key or piece of a secret across the cut is found (as KEY_SHAPED runs are capped). */
const EXCERPT_MARGIN = 2 * RUN_CAP;

/**
 * maskLogText of at most the first `maxChars` characters of `text`, for a
 * bounded record of unbounded text (a prompt on a span): only a window a
 * little longer than the excerpt is masked, so the cost does not grow with
 * the text, and a secret across the cut was masked whole before the cut.
 * `cut` is how many characters of the text are left out (0: all of it is in).
 */
export function maskLogExcerpt(text: string, maxChars: number): { text: string; cut: number } {
  if (text.length <= maxChars) {
    const masked = maskLogText(text);
    return masked.length <= maxChars ? { text: masked, cut: 0 } : { text: cutText(masked, maxChars), cut: masked.length - maxChars };
  }
  const masked = maskLogText(text.slice(0, maxChars + EXCERPT_MARGIN));
  // The last characters read may begin a secret too little of which was read to find it: they are not kept.
  const keep = Math.max(0, Math.min(maxChars, masked.length - EXCERPT_MARGIN));
  const kept = cutText(masked, keep);
  return { text: kept, cut: Math.max(1, text.length - kept.length) };
}

/**
 * Whether `text` holds a known secret (the gateway's own or a pool's vendor
 * key) whole, as maskKeys finds it: as written or in one of its encoded
 * forms, exactly. Never a piece of one, and never in another case: callers
 * choose the text, and an answer that told a piece of a secret from any
 * other text would let them grow a guessed piece a character at a time into
 * the whole secret. One lookup a character, cheap enough for every call.
 */
export function holdsKnownSecret(text: string): boolean {
  return redactWholeForms(text, knownFormsIndex()) !== text;
}

/** Whether `text` holds a known secret or something shaped like a key (see maskKeys). */
export function holdsKey(text: string): boolean {
  return maskKeys(text) !== text;
}

/**
 * Whether `text` holds a key, or a piece of a known secret, as maskLogText
 * finds them: for what the gateway writes where only operators read (a span's
 * tracestate, a metric's label), never for what decides a caller's answer
 * (see holdsKnownSecret).
 */
export function holdsKeyOrSecretPiece(text: string): boolean {
  return maskLogText(text) !== text;
}

/** The replacement of one KEY_SHAPED match; `bare` is set for a run without a prefix. */
function maskedKey(run: string, bare: string | undefined): string {
  if (bare !== undefined && !(/[a-z]/.test(bare) && /[A-Z]/.test(bare) && /[0-9]/.test(bare))) return run;
  return `${run.slice(0, HINT_CHARS)}…`;
}
