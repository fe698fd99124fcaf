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
      timestamp: pino.stdTimeFunctions.isoTime,
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
