// Flaky fake vendors for the chaos benchmark: OpenAI-shaped chat completions
// on loopback that fail a share of calls at random, each vendor on its own
// port with its own random sequence. Run by bench/chaos/run.ts; prints
// {"ports":{"primary":…,"backup":…}} once listening.
//
// A failing call is one of, in equal shares: 429, 500, 503, a reset
// connection, or a hang (headers never come). Healthy calls answer after a
// latency of CHAOS_LATENCY_MS ± 25%. The 429s model a momentary throttle of one
// call, not a key over its limit: they say `retry-after-ms: 0`
// (CHAOS_RETRY_AFTER_MS), so the key pool does not cool the key down. With a
// longer hint the pool takes the key out of rotation for that long, which is
// right for a real limit but turns random 429s into key-wide outages.
//
// Control (for the load driver): GET /__stats, POST /__reset,
// POST /__outage?ms=N (every call fails with 503 for N ms).
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const FAILURE_RATE = Number(process.env.CHAOS_FAILURE_RATE ?? 0.08);
const LATENCY_MS = Number(process.env.CHAOS_LATENCY_MS ?? 20);
const RETRY_AFTER_MS = Number(process.env.CHAOS_RETRY_AFTER_MS ?? 0);
const SEED = Number(process.env.CHAOS_SEED ?? 20_240_601);
const FAILURES = ["429", "500", "503", "reset", "hang"] as const;

/** mulberry32: a small seeded generator, so a run's failure sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function startVendor(name: string, seed: number): Promise<number> {
  const random = seeded(seed);
  let stats = { requests: 0, outcomes: {} as Record<string, number> };
  let outageUntil = 0;
  const count = (outcome: string) => (stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1);

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/__stats") return json(res, 200, stats);
    if (url.pathname === "/__reset") {
      stats = { requests: 0, outcomes: {} };
      outageUntil = 0;
      return json(res, 200, {});
    }
    if (url.pathname === "/__outage") {
      outageUntil = Date.now() + Number(url.searchParams.get("ms") ?? 1000);
      return json(res, 200, {});
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    stats.requests++;
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") return json(res, 404, { error: { message: "unknown path", type: "invalid_request_error" } });
    if (!(req.headers.authorization ?? "").startsWith("Bearer sk-chaos-")) {
      return json(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } });
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model: string; stream?: boolean };
    if (Date.now() < outageUntil) {
      count("outage_503");
      return json(res, 503, { error: { message: "The engine is currently overloaded, please try again later", type: "server_error" } });
    }
    if (random() < FAILURE_RATE) {
      const failure = FAILURES[Math.floor(random() * FAILURES.length)]!;
      count(failure);
      switch (failure) {
        case "429":
          return json(res, 429, { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }, { "retry-after-ms": String(RETRY_AFTER_MS) });
        case "500":
          return json(res, 500, { error: { message: "The server had an error while processing your request.", type: "server_error" } });
        case "503":
          return json(res, 503, { error: { message: "Service Unavailable", type: "server_error" } });
        case "reset":
          return void req.socket.destroy();
        case "hang":
          return; // the client's timeout has to cut it
      }
    }
    count("ok");
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS * (0.75 + random() * 0.5)));
    if (res.destroyed) return;
    const id = `chatcmpl-${name}-${stats.requests}`;
    const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
    if (body.stream) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const piece of ["Hello", " from ", name]) res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage })}\n\n`);
      return void res.end("data: [DONE]\n\n");
    }
    json(res, 200, {
      id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: `Hello from ${name}` }, finish_reason: "stop" }],
      usage,
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const ports = { primary: await startVendor("primary", SEED), backup: await startVendor("backup", SEED + 1) };
console.log(JSON.stringify({ ports }));
