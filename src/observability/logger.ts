import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * JSON log lines. Secrets never reach the logger as values, and these paths
 * are censored anyway in case a header or config object is logged whole.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
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
 * of the line. That line is built from fixed fields (ids, names, codes,
 * durations, an error's message), none a header, config or credential, so
 * there is nothing for the paths above to censor in it.
 */
export function callLineLogger(logger: Logger): Logger {
  let lines = callLines.get(logger);
  if (!lines) {
    lines = logger.child({}, { redact: [] });
    callLines.set(logger, lines);
  }
  return lines;
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
