/**
 * A URL as a message may quote it, whether it parses or not (a malformed one
 * is what an error quotes): without what comes before its last `@` past the
 * scheme (user information: a password, a token) nor its query or fragment
 * (an API key as a parameter), each written `…`. What is left names the
 * scheme, host and path, enough to find the typo by.
 */
export function urlWithoutCredentials(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? "";
  let rest = url.slice(scheme.length);
  // The last @, as a password may hold an unencoded one (or a / or ? that ends the host early).
  const at = rest.lastIndexOf("@");
  if (at !== -1) rest = `…@${rest.slice(at + 1)}`;
  const query = rest.search(/[?#]/);
  if (query !== -1) rest = `${rest.slice(0, query)}?…`;
  return scheme + rest;
}
