// An OpenAI-compatible vendor that answers at once with a fixed completion:
// the floor every other row of the benchmark is compared against. Asked to
// stream, it sends STREAM_CHUNKS chunks as fast as the socket takes them, or,
// for the model "gpt-4o-2024-11-20", PACED_CHUNKS chunks PACE_MS apart (a
// vendor generating tokens: a snapshot the catalogue prices, as the bench
// key's budget admits no model without a price); for the model "gpt-4o" it
// answers with about 20 KB of text.
import { createServer, type ServerResponse } from "node:http";

const STREAM_CHUNKS = Number(process.env.BENCH_STREAM_CHUNKS ?? 200);
const PACED_CHUNKS = 20;
const PACE_MS = 2;

function completionOf(content: string, model: string): string {
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1700000000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
  });
}

const small = completionOf("Hello from the instant vendor.", "gpt-4o-mini");
const large = completionOf("word ".repeat(4_000), "gpt-4o");
const models = JSON.stringify({ object: "list", data: ["gpt-4o-mini", "gpt-4o"].map((id) => ({ id, object: "model", created: 0, owned_by: "bench" })) });

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

function stream(res: ServerResponse, paced: boolean): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  const count = paced ? PACED_CHUNKS : STREAM_CHUNKS;
  const end = () => {
    res.write(chunk({}, "stop"));
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 12, completion_tokens: count, total_tokens: 12 + count } })}\n\n`);
    res.end("data: [DONE]\n\n");
  };
  if (!paced) {
    for (let i = 0; i < count; i++) res.write(chunk({ content: `t${i} ` }));
    return end();
  }
  let sent = 0;
  const next = (): void => {
    res.write(chunk({ content: `t${sent} ` }));
    if (++sent === count) end();
    else setTimeout(next, PACE_MS);
  };
  next();
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.once("end", () => {
    if (req.url?.endsWith("/models")) return void res.writeHead(200, { "content-type": "application/json" }).end(models);
    const body = Buffer.concat(chunks).toString();
    if (body.includes('"stream":true')) return stream(res, body.includes('"gpt-4o-2024-11-20"'));
    const answer = body.includes('"gpt-4o"') ? large : small;
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) }).end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
