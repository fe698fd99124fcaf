// What `GET /` answers: the address the gateway prints, opened in a browser or
// curled, says what is served here (a browser is sent to the console) rather
// than an empty 404. Only what any caller may learn from the port anyway: the
// paths and service names, never a provider, a model or a key.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { CONSOLE_PATH } from "./console-assets.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export interface LandingSurfaces {
  /** Where the REST surfaces are ("/v1/"); none when they are not served. */
  restPrefix?: string;
  /** The Connect, gRPC and gRPC-Web services mounted, by full name. */
  services: readonly string[];
  /** The web console: undefined when not served; `built` false when it is served but not built here. */
  console?: { built: boolean };
}

/** The REST endpoints under the prefix, by the API they follow (as src/api's surfaces serve them). */
const REST_ENDPOINTS = [
  "POST chat/completions (OpenAI)",
  "POST responses, GET|DELETE responses/{id}, GET responses/{id}/input_items, POST responses/input_tokens (OpenAI Responses)",
  "POST embeddings (OpenAI)",
  "GET models, GET models/{model} (OpenAI; Anthropic's shape with anthropic-version)",
  "POST messages, POST messages/count_tokens (Anthropic)",
];

const DOCS = "README.md and docs/clients.md in the Switchboard repository";

/** The page's facts, once: rendered as JSON for a client that asks for it, as text otherwise. */
function landingFacts(surfaces: LandingSurfaces) {
  const { restPrefix, services, console } = surfaces;
  return {
    name: "Switchboard AI gateway",
    authentication: "Every API call needs a gateway key: authorization: Bearer <key> (or x-api-key: <key>)",
    ...(restPrefix !== undefined && {
      rest: {
        sdkBaseUrls: { openai: `<this address>${restPrefix.replace(/\/$/, "")}`, anthropic: "<this address>" },
        endpoints: REST_ENDPOINTS.map((endpoint) => endpoint.replace(" ", ` ${restPrefix}`)),
      },
    }),
    services,
    ...(console && { console: console.built ? `${CONSOLE_PATH}/` : `${CONSOLE_PATH}/ (not built here: npm run build:console)` }),
    health: ["/healthz", "/readyz"],
    metrics: "/metrics",
    docs: DOCS,
  };
}

function asText(page: ReturnType<typeof landingFacts>): string {
  const lines = [
    page.name,
    "",
    page.authentication,
    ...(page.rest
      ? ["", `REST (base URL for the OpenAI SDKs: ${page.rest.sdkBaseUrls.openai}; for the Anthropic SDKs: ${page.rest.sdkBaseUrls.anthropic}):`, ...page.rest.endpoints.map((endpoint) => `  ${endpoint}`)]
      : []),
    "",
    "Connect, gRPC and gRPC-Web services (server reflection is on: grpcurl <address> list):",
    ...page.services.map((service) => `  ${service}`),
    "",
    ...(page.console ? [`Web console: ${page.console}`] : []),
    `Health: ${page.health.join(", ")}`,
    `Metrics (Prometheus): ${page.metrics}`,
    `Docs: ${page.docs}`,
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The answer to GET and HEAD `/`: a browser (Accept: text/html) is sent to the
 * console when it is built; a client asking for JSON gets the surfaces as
 * JSON; anyone else (curl) as text. Built once: nothing in it changes.
 */
export function createLandingPage(surfaces: LandingSurfaces): (req: Request, res: Response) => void {
  const page = landingFacts(surfaces);
  const text = asText(page);
  const json = `${JSON.stringify(page, null, 2)}\n`;
  const headers = { vary: "accept", "cache-control": "no-cache", "x-content-type-options": "nosniff" };
  return (req, res) => {
    const accept = String(req.headers.accept ?? "");
    if (surfaces.console?.built && /\btext\/html\b/i.test(accept)) {
      res.writeHead(302, { ...headers, location: `${CONSOLE_PATH}/` }).end();
      return;
    }
    if (/\bapplication\/json\b/i.test(accept)) res.writeHead(200, { ...headers, "content-type": "application/json" }).end(json);
    else res.writeHead(200, { ...headers, "content-type": "text/plain; charset=utf-8" }).end(text);
  };
}
