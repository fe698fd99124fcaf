// Gemini 3 rejects a function call replayed without the thoughtSignature it came with. The
// signature's only way back through our API is the tool call id, so it rides there, base64url
// encoded (ids stay within [A-Za-z0-9_-], which every vendor accepts).
const SIGNATURE_MARK = "_gts_";

/** The id a function call gets: its own (or a made-up) one, with the call's signature when it has one. */
export function toolCallId(base: string, signature: string | undefined): string {
  if (!signature) return base;
  return base + SIGNATURE_MARK + signature.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The signature a tool call id carries, as Gemini gave it (standard base64); undefined when it carries none. */
export function toolCallSignature(id: string): string | undefined {
  const at = id.indexOf(SIGNATURE_MARK);
  if (at === -1) return undefined;
  const encoded = id.slice(at + SIGNATURE_MARK.length).replace(/-/g, "+").replace(/_/g, "/");
  return encoded === "" ? undefined : encoded + "=".repeat((4 - (encoded.length % 4)) % 4);
}
