/** An absolute-form request target: `http://host/path?query`. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * The path (with its query) and authority of an absolute-form request target
 * (`POST http://host/v1/chat/completions HTTP/1.1`), which RFC 9112 §3.2.2
 * says a server must accept, taking the target's authority over any Host
 * header; undefined for any other form (a path, `*`, an authority). The path
 * is kept as sent, not normalised: `http://host//v1/x` is `//v1/x`.
 */
export function absoluteTarget(target: string): { path: string; authority: string } | undefined {
  const match = ABSOLUTE_FORM.exec(target);
  if (!match) return undefined;
  const [, authority, rest] = match as unknown as [string, string, string];
  // userinfo is not allowed in an http URI (RFC 9110 §4.2.4), and is no part of the host.
  return { path: rest.startsWith("/") ? rest : `/${rest}`, authority: authority.slice(authority.lastIndexOf("@") + 1) };
}
