// A REST path just outside the REST prefix: `//v1/chat/completions` (a base
// URL with a trailing slash), `/V1/CHAT/COMPLETIONS`, `/v1` alone. Such
// paths are not served (paths are case-sensitive, and a doubled slash is
// another path to every cache and proxy in front of the gateway), but the
// caller is told the path it probably meant, in its SDK's error shape.
import { Code, type ConnectError } from "@connectrpc/connect";
import { excerpt } from "../common/excerpt.js";
import { gatewayError } from "../common/gateway-error.js";

/** The first segments of the REST endpoints under the prefix: `/chat/completions` is one without it. */
const REST_ROOTS = new Set(["chat", "embeddings", "models", "messages", "responses"]);

/**
 * The path `path` probably meant, when it is a near miss of `prefix`
 * ("/v1/"): its slashes collapsed, its first segment made `v1`, and all of
 * it in lower case when its prefix was not (an id later in a path keeps its
 * case otherwise); the prefix itself for `/v1`; a REST endpoint with the
 * prefix put back (`/chat/completions`: an OpenAI SDK given the gateway's
 * address without /v1). Undefined for a path inside the prefix, or one that
 * does not begin with it or a REST endpoint in any spelling.
 */
export function meantRestPath(path: string, prefix: string): string | undefined {
  if (path.startsWith(prefix)) return undefined;
  const collapsed = path.replace(/\/{2,}/g, "/");
  const root = prefix.slice(0, -1);
  if (collapsed.toLowerCase() === root) return prefix;
  // Only the endpoint's own segment in lower case: an id after it keeps its case.
  const [, first = "", ...rest] = collapsed.split("/");
  if (REST_ROOTS.has(first.toLowerCase())) return [root, first.toLowerCase(), ...rest].join("/");
  if (!collapsed.toLowerCase().startsWith(prefix)) return undefined;
  return collapsed.startsWith(prefix) ? collapsed : collapsed.toLowerCase();
}

/** The NotFound for a near miss, as the REST surfaces' own (ENDPOINT_NOT_FOUND), naming the path meant. */
export function restNearMiss(method: string, path: string, meant: string, prefix: string): ConnectError {
  const quoted = { method: excerpt(method), path: excerpt(path) };
  const withoutPrefix = !path.replace(/\/{2,}/g, "/").toLowerCase().startsWith(prefix.slice(0, -1));
  const baseUrl = withoutPrefix ? ` (the REST endpoints are under ${prefix}: OpenAI's SDKs take the gateway's address with ${prefix.slice(0, -1)} as their base URL)` : "";
  const hint = meant === prefix ? `the REST endpoints are under ${prefix} (${prefix}chat/completions, ${prefix}models, …)` : `did you mean ${excerpt(meant)}?${baseUrl}`;
  return gatewayError(Code.NotFound, `no such endpoint: ${quoted.method} ${quoted.path}; ${hint} (paths are case-sensitive, one slash between segments)`, "ENDPOINT_NOT_FOUND", {
    ...quoted,
    meant: excerpt(meant),
  });
}
