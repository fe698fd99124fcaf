// A vendor, or a proxy before it, may echo the key escaped as its own
// language writes text: a slash as "\/" (PHP's json_encode, quoted in a
// message or a text body), a plus as "&#43;" (Go's html/template, in an
// error page), any character as "\u00XX" or "&#xXX;". The key was read
// whole only as written or %-encoded, so such an echo reached the caller and
// the log line whole. Each escape is now read as the character it stands for.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unescaped } from "../../src/providers/escaped-text.js";
import { maskLogText, redactAnswerText, redactSecrets, rememberSecret } from "../../src/providers/redact.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { hello } from "./support/admin.js";
import { keysFromEnv } from "./support/env-key-gateways.js";

// Base64-like, with the characters escapers write otherwise: "/", "+", "=".
const KEY = `Zq7V/t0RMo+3wXbN9${Math.random().toString(36).slice(2, 10)}/cLp2Eh+Ys6=`;
const credential = createCredential("vendor/test", KEY);

/** Every way the tests echo the key escaped. */
const ESCAPED: [string, string][] = [
  ["a JSON-escaped slash (PHP)", KEY.replace(/\//g, "\\/")],
  ["HTML references for + and = (Go's html/template)", KEY.replace(/\+/g, "&#43;").replace(/=/g, "&#61;")],
  ["hexadecimal HTML references, every character", [...KEY].map((c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`).join("")],
  ["JSON \\u escapes, every character", [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")],
  ["%-encoded", encodeURIComponent(KEY)],
];

/** Whether a piece of the key that tells it (8 characters of its own, past its vendor-free start) is in `text`, as written or read with its escapes. */
function leaks(text: string): boolean {
  const read = unescaped(text).text.toLowerCase();
  const lower = KEY.toLowerCase();
  for (let i = 0; i + 8 <= lower.length; i++) if (read.includes(lower.slice(i, i + 8))) return true;
  return false;
}

describe("a key echoed escaped", () => {
  it.each(ESCAPED)("is redacted from a vendor's words as %s, the words around it kept", (_, echo) => {
    const out = redactSecrets(`upstream said: {"key":"${echo}"} (request 42)`, credential);
    expect(out).toBe(`upstream said: {"key":"[redacted]"} (request 42)`);
  });

  it.each(ESCAPED)("is redacted from an answer's id and from a log line as %s", (_, echo) => {
    rememberSecret(KEY);
    expect(leaks(redactAnswerText(`chatcmpl-${echo}`, 200, credential))).toBe(false);
    expect(leaks(maskLogText(`vendor page: <p>${echo}</p>`))).toBe(false);
  });

  it("reads escapes of Latin-1 characters only, and leaves text without one as it is", () => {
    expect(unescaped("a\\/b &#43; &#x3D; &amp; \\u00e9 %2F").text).toBe("a/b + = & é /");
    for (const text of ["&#8364; \\u20ac %E9 &nbsp; \\n 100% & done", "plain text"]) expect(unescaped(text)).toEqual({ text });
    expect(unescaped("x&#43;y").starts).toEqual([0, 1, 6, 7]);
  });
});

describe("a gateway in front of a vendor that echoes the key escaped", () => {
  let vendor: FakeServer;
  let gw: TestGateway;
  let answer: { status: number; type: string; body: string };

  beforeAll(async () => {
    vendor = await startFakeServer((_req, res) => {
      res.writeHead(answer.status, { "content-type": answer.type });
      res.end(answer.body);
    });
    gw = await startGateway(
      { KEY_A: KEY },
      { providers: { openai: { base_url: `${vendor.origin}/v1`, keys: keysFromEnv({ a: "KEY_A" }) } }, traffic: { retry: { max_attempts: 1 } } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await vendor?.close();
  });

  it("never gets it to the caller or the log: in a JSON error's message, a text body, an HTML page", async () => {
    const echoes = ESCAPED.map(([, echo]) => echo);
    const answers = [
      ...echoes.map((echo) => ({ status: 400, type: "application/json", body: JSON.stringify({ error: { message: `bad request for {"key":"${echo}"}`, type: "invalid_request_error" } }) })),
      ...echoes.map((echo) => ({ status: 502, type: "text/html", body: `<html><body>bad key ${echo}</body></html>` })),
    ];
    for (const each of answers) {
      answer = each;
      const err = await failure(gw.client().chat(hello));
      expect([Code.InvalidArgument, Code.Unavailable]).toContain(err.code);
      expect(err.rawMessage).toContain("[redacted]");
      expect(leaks(err.rawMessage)).toBe(false);
    }
    expect(leaks([gw.logs.text, ...gw.logs.entries.map((e) => JSON.stringify(e))].join("\n"))).toBe(false);
  });
});
