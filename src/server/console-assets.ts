import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { extname, join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { packageRoot } from "../common/package-root.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Where the web console is served. */
export const CONSOLE_PATH = "/console";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".json", ".svg", ".txt"]);

/**
 * The page may load its own scripts, styles, fonts and images, and call this
 * origin; nothing inline, nothing from elsewhere, never framed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

interface Asset {
  body: Buffer;
  gzipped?: Buffer;
  type: string;
  etag: string;
  /** Vite names files under assets/ by their content's hash: they never change. */
  immutable: boolean;
}

/** The web console's files, read once at start, served from memory. */
export interface ConsoleAssets {
  /** Whether the built console was found (false: every page says how to build it). */
  readonly built: boolean;
  /** Serves GET and HEAD under /console. */
  handle(req: Request, res: Response): void;
}

/** The console as `npm run build:console` leaves it: dist/console beside package.json. */
export function defaultConsoleDir(): string {
  return join(packageRoot(), "dist", "console");
}

/**
 * The built single-page app under /console: exact files with their content
 * types, hashed assets cached for good and the page revalidated, any other
 * path under /console answered with the page (the app routes it), and the
 * page's content security policy. Files are looked up in a table of what was
 * built, so no request path can reach another file.
 */
export function loadConsoleAssets(dir: string = defaultConsoleDir()): ConsoleAssets {
  const assets = readAssets(dir);
  const page = assets.get("index.html");
  return {
    built: page !== undefined,
    handle(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("the console is read with GET\n");
        return;
      }
      const url = req.url ?? "/";
      const path = url.split("?", 1)[0]!;
      if (path === CONSOLE_PATH) {
        res.writeHead(308, { location: `${CONSOLE_PATH}/${url.slice(path.length)}` }).end();
        return;
      }
      const file = assetPath(path.slice(CONSOLE_PATH.length + 1));
      if (file === undefined) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("bad path\n");
        return;
      }
      if (!page) {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(`The console is not built here (no ${join(dir, "index.html")}). npm start builds it; or run: npm run build:console\n`);
        return;
      }
      const asset = assets.get(file || "index.html");
      // A path that names a file gets it or 404; any other path is a page of the app.
      if (!asset && extname(file)) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end("not found\n");
        return;
      }
      send(req, res, asset ?? page);
    },
  };
}

/** A request path under /console as a relative file path; undefined when it is not a clean one. */
function assetPath(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const parts = decoded.split("/");
  if (decoded.includes("\\") || decoded.includes("\0") || parts.some((part) => part === ".." || part === "." || part.startsWith("."))) return undefined;
  return parts.filter(Boolean).join("/");
}

function send(req: Request, res: Response, asset: Asset): void {
  const gzip = asset.gzipped !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  // Each coding its own strong validator (RFC 9110 8.8.3): the gzipped bytes are not the plain ones.
  const etag = gzip ? `${asset.etag.slice(0, -1)}-gz"` : asset.etag;
  const headers: Record<string, string> = {
    "content-type": asset.type,
    etag,
    "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    ...SECURITY_HEADERS,
  };
  if (asset.gzipped) headers.vary = "accept-encoding";
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const body = gzip ? asset.gzipped! : asset.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  res.writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

/** Every file under `dir` (none when it is missing), keyed by its path relative to it with "/" separators. */
function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return assets;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(dir, full).split(sep).join("/");
    if (path.split("/").some((part) => part.startsWith("."))) continue;
    const body = readFileSync(full);
    const ext = extname(path);
    assets.set(path, {
      body,
      gzipped: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body) : undefined,
      type: CONTENT_TYPES[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
      immutable: path.startsWith("assets/"),
    });
  }
  return assets;
}
