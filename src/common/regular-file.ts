import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

/** Why a file an operator named was not read. */
export type FileRefusal =
  | { reason: "unreadable"; code: string }
  | { reason: "not_regular"; kind: string }
  | { reason: "too_large"; limit: number };

export class FileRefused extends Error {
  constructor(readonly refusal: FileRefusal) {
    super(describeRefusal(refusal));
  }
}

/** The refusal in words, to follow the file's name: "cannot be read (ENOENT)", "is a named pipe (FIFO), not a regular file". */
export function describeRefusal(refusal: FileRefusal): string {
  switch (refusal.reason) {
    case "unreadable":
      return `cannot be read (${refusal.code})`;
    case "not_regular":
      return `is ${refusal.kind}, not a regular file`;
    case "too_large":
      return `is larger than ${refusal.limit} bytes`;
  }
}

/**
 * The bytes of a file an operator named (a config file, a certificate, a
 * key), at most `maxBytes` of them, with its stat. Only a regular file (or a
 * link to one) is read: a named pipe, a device or a directory is refused at
 * once, without waiting on it, and a file larger than `maxBytes` is refused
 * without being held. Throws FileRefused.
 */
export function readRegularFile(path: string, maxBytes: number): { bytes: Buffer; stat: Stats } {
  let fd: number;
  try {
    // Non-blocking: opening a named pipe (FIFO) with no writer would otherwise wait for ever, before any check.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new FileRefused({ reason: "unreadable", code: errorCode(err) });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileRefused({ reason: "not_regular", kind: kindOf(stat) });
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      // A regular file's size, or a little more if it grows meanwhile: read until its end, within the bound.
      const chunk = Buffer.alloc(Math.min(Math.max(stat.size - length, 0), maxBytes - length) + 1);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      length += read;
      if (length > maxBytes) throw new FileRefused({ reason: "too_large", limit: maxBytes });
      chunks.push(chunk.subarray(0, read));
    }
    return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length), stat };
  } catch (err) {
    throw err instanceof FileRefused ? err : new FileRefused({ reason: "unreadable", code: errorCode(err) });
  } finally {
    closeSync(fd);
  }
}

/** What a path that is not a regular file is, in words: "a named pipe (FIFO)". */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  return "of another kind";
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "error";
}
