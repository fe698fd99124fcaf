// The image's HEALTHCHECK: GET /readyz on the gateway's own port, over HTTPS
// when the configuration turns TLS on (server.tls: the port then speaks
// nothing else), else over plain HTTP. Exits 0 on a 2xx answer, 1 otherwise.
//
// The port and TLS are read as the gateway reads them: PORT, else the file's
// server.port, else 8080; server.tls in SWITCHBOARD_CONFIG. The certificate
// is not verified: it names the service, not 127.0.0.1, and this asks the
// process on this very host whether it is ready, not who it is.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { parse } from "yaml";

/** `server` of the configuration file, or {} without one (the gateway fails its own start on a bad file). */
function serverSection(path) {
  if (!path) return {};
  try {
    return parse(readFileSync(path, "utf8"))?.server ?? {};
  } catch {
    return {};
  }
}

const server = serverSection(process.env.SWITCHBOARD_CONFIG);
const port = Number(process.env.PORT || server.port || 8080);
const get = server.tls ? httpsRequest : httpRequest;
const req = get({ host: "127.0.0.1", port, path: "/readyz", rejectUnauthorized: false, timeout: 2_000 }, (res) => {
  res.resume();
  process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1);
});
req.on("timeout", () => req.destroy());
req.on("error", () => process.exit(1));
req.end();
