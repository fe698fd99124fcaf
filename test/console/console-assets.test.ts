import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConsoleAssets } from "../../src/server/console-assets.js";

const PAGE = '<!doctype html><title>console</title><script type="module" src="/console/assets/app-abc123.js"></script>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});`;

let root: string;
let server: Server;
let unbuilt: Server;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: the path goes on the wire exactly as written (no client-side normalising of "..", "%2e"). */
function get(target: Server, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  const { port } = target.address() as { port: number };
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function serve(dir: string): Promise<Server> {
  const assets = loadConsoleAssets(dir);
  const s = createServer((req, res) => assets.handle(req, res));
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "console-assets-"));
  const dist = join(root, "console");
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), PAGE);
  writeFileSync(join(dist, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  writeFileSync(join(dist, "assets/app-abc123.js"), SCRIPT);
  writeFileSync(join(dist, "assets/inter-400.woff2"), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
  writeFileSync(join(dist, ".console-stamp"), "not for the web");
  // A file beside the console that no path may reach.
  writeFileSync(join(root, "secret.txt"), "sk-not-for-the-web");
  server = await serve(dist);
  unbuilt = await serve(join(root, "missing"));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await new Promise((resolve) => unbuilt?.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

describe("the console's static files", () => {
  it("serves each file with its content type; hashed assets are cached for good, the page is revalidated", async () => {
    const page = await get(server, "/console/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.body.toString()).toBe(PAGE);

    const script = await get(server, "/console/assets/app-abc123.js");
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect((await get(server, "/console/assets/inter-400.woff2")).headers["content-type"]).toBe("font/woff2");
    expect((await get(server, "/console/favicon.svg")).headers["content-type"]).toBe("image/svg+xml");
  });

  it("sends the content security policy and its companions with every file", async () => {
    const page = await get(server, "/console/");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.headers["x-frame-options"]).toBe("DENY");
  });

  it("answers 304 to a current ETag, gzip to a client that takes it, and HEAD without a body", async () => {
    const first = await get(server, "/console/assets/app-abc123.js");
    const again = await get(server, "/console/assets/app-abc123.js", { "if-none-match": String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const zipped = await get(server, "/console/assets/app-abc123.js", { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(gunzipSync(zipped.body).toString()).toBe(SCRIPT);
    // Each coding has a validator of its own, and each revalidates.
    expect(zipped.headers.etag).not.toBe(first.headers.etag);
    expect((await get(server, "/console/assets/app-abc123.js", { "accept-encoding": "gzip", "if-none-match": String(zipped.headers.etag) })).status).toBe(304);
    expect((await get(server, "/console/assets/app-abc123.js", { "if-none-match": String(zipped.headers.etag) })).status).toBe(200);
    const head = await get(server, "/console/assets/app-abc123.js", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(SCRIPT)));
    expect(head.body.length).toBe(0);
  });

  it("answers the app's own paths with the page, a missing file with 404, /console with a redirect, and other methods with 405", async () => {
    for (const path of ["/console/keys", "/console/providers?x=1", "/console/usage/"]) {
      const answer = await get(server, path);
      expect([path, answer.status, answer.body.toString()]).toEqual([path, 200, PAGE]);
    }
    expect((await get(server, "/console/assets/gone-123.js")).status).toBe(404);
    const bare = await get(server, "/console?next=keys");
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/console/?next=keys");
    const post = await get(server, "/console/", {}, "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("reaches no file outside what was built, however the path is spelled, and no dotfile", async () => {
    for (const path of [
      "/console/../secret.txt",
      "/console/assets/../../secret.txt",
      "/console/%2e%2e/secret.txt",
      "/console/assets/..%2f..%2fsecret.txt",
      "/console/..%5csecret.txt",
      "/console/%00index.html",
      "/console/.console-stamp",
      "/console/%E0%A4%A",
    ]) {
      const answer = await get(server, path);
      expect([path, answer.body.toString().includes("sk-not-for-the-web"), answer.body.toString().includes("not for the web")]).toEqual([path, false, false]);
      expect([path, answer.status]).toEqual([path, 400]);
    }
  });

  it("says how to build the console when it is not built", async () => {
    const answer = await get(unbuilt, "/console/");
    expect(answer.status).toBe(503);
    expect(answer.body.toString()).toContain("npm run build:console");
  });
});
