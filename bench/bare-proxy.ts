// The floor for any Node gateway: node:http in, an undici keep-alive pool out,
// bytes passed through untouched. No auth, no parsing, no translation.
import { createServer } from "node:http";
import { Pool } from "undici";

const upstream = new Pool(process.env.UPSTREAM!, { connections: 256 });

const server = createServer(async (req, res) => {
  try {
    const answer = await upstream.request({
      method: req.method as "POST",
      path: req.url!,
      headers: { "content-type": req.headers["content-type"] ?? "application/json", authorization: "Bearer sk-bench-upstream" },
      body: req,
    });
    res.writeHead(answer.statusCode, { "content-type": String(answer.headers["content-type"] ?? "application/json") });
    for await (const chunk of answer.body) res.write(chunk);
    res.end();
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
