import { pino, type DestinationStream, type Logger } from "pino";
import { maskLogText } from "../providers/redact.js";

export type { Logger };

/**
 * JSON log lines. Secrets never reach the logger as values, and these paths
 * are censored anyway in case a header or config object is logged whole.
 * Text shaped like a key is masked in every field and message ("sk-sb-…"):
 * a caller may paste a key where a model name goes, and lines quote callers.
 * Control characters are written as JSON escapes, C1 ones too (see
 * escapedC1), so a line shown in a terminal is read, never obeyed.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }), log: maskedFields },
      hooks: {
        logMethod(args, write) {
          write.apply(this, args.map((arg) => (typeof arg === "string" ? maskLogText(arg) : arg)) as Parameters<typeof write>);
        },
        streamWrite: escapedC1,
      },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          '*["x-api-key"]',
          "*.secret",
          "*.token",
          "*.apiKey",
          "*.api_key",
        ],
        censor: "[redacted]",
      },
    },
    // Asynchronous, buffered writes keep logging off the hot path; main.ts flushes on exit.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

const callLines = new WeakMap<Logger, Logger>();

/**
 * The logger for the one line each call writes (api/envelope/call-log.ts):
 * the same logger without the redaction pass, which cost four times the rest
 * of the line, nor the masking of its fields. That line is built from fixed
 * fields (ids, names, codes, durations, an error's message), none a header,
 * config or credential, so there is nothing for the paths above to censor in
 * it; what a caller or vendor chose in it (the request id, the models, the
 * error's words) is masked field by field as the line is built (call-log.ts),
 * pieces of secrets too, as this logger's own pass would.
 */
export function callLineLogger(logger: Logger): Logger {
  let lines = callLines.get(logger);
  if (!lines) {
    lines = logger.child({}, { redact: [], formatters: { log: (fields) => fields } });
    callLines.set(logger, lines);
  }
  return lines;
}

/** DEL and the C1 controls, which JSON leaves as they are (it escapes only C0). */
const C1_CONTROLS = /[\u007f-\u009f]/g;

/**
 * A serialized line with DEL and each C1 control as a JSON escape ("\u009b"),
 * as JSON writes the C0 ones: a vendor's words, quoted in a line, may hold
 * an 8-bit CSI (U+009B), which a terminal honouring C1 obeys as ESC [ (colours,
 * a cleared screen). A JSON line holds none outside its strings, so it parses
 * to the same values. Every line, the call's too (callLineLogger): one scan.
 */
export function escapedC1(line: string): string {
  return line.replace(C1_CONTROLS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Fields are masked this deep (a cause's cause, a list of attempts); deeper ones are written as they are. */
const MASKED_DEPTH = 4;

/** `fields` with every string in it (in plain objects and arrays) through maskLogText (no caller reads a log line: pieces of secrets too); the same object when none changed. */
function maskedFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const name in fields) {
    const value = fields[name];
    const masked = typeof value === "string" ? maskLogText(value) : depth < MASKED_DEPTH && isPlain(value) ? maskedFields(value, depth + 1) : value;
    if (masked !== value) (copy ??= (Array.isArray(fields) ? [...fields] : { ...fields }) as Record<string, unknown>)[name] = masked;
  }
  return copy ?? fields;
}

/** An object literal or an array: what log fields are built of (an Error is left to pino's serializer). */
function isPlain(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

/** The second of the last timestamp, and its ISO text up to the milliseconds: one Date formatted per second, not per line. */
let second = Number.NaN;
let secondText = "";

/** `,"time":"<ISO 8601>"`, as pino.stdTimeFunctions.isoTime writes it. */
export function isoTime(): string {
  const now = Date.now();
  const ms = now % 1000;
  if (now - ms !== second) {
    second = now - ms;
    secondText = new Date(second).toISOString().slice(0, 20);
  }
  return `,"time":"${secondText}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}
