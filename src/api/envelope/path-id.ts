/**
 * The id a path names below `prefix` ("/v1/models/" + "ollama%2Fllama3.1"):
 * percent-decoded, as the SDKs encode a "/" in it, or as sent when it is no
 * valid encoding.
 */
export function pathId(path: string, prefix: string): string {
  const raw = path.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
