// The floor for a gRPC gateway in Node: connect-node's gRPC handler on an
// h2c server, the request passed to the vendor with an undici pool, the
// answer's text put back in a ChatResponse. No auth, routing, limits,
// accounting or logs: only the protocol's own work and one translation.
import { createServer } from "node:http2";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Pool } from "undici";
import { AIService, ChatResponseSchema } from "../gen/ts/switchboard/v1/ai_service_pb.js";

const upstream = new Pool(process.env.UPSTREAM!, { connections: 256 });

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(AIService, {
      async chat(req) {
        const answer = await upstream.request({
          method: "POST",
          path: "/v1/chat/completions",
          headers: { "content-type": "application/json", authorization: "Bearer sk-bench-upstream" },
          body: JSON.stringify({ model: req.model, messages: req.messages.map((m) => ({ role: "user", content: m.content })) }),
        });
        const completion = (await answer.body.json()) as { choices: { message: { content: string } }[] };
        return create(ChatResponseSchema, { model: req.model, message: { content: completion.choices[0]!.message.content } });
      },
    }),
});

const server = createServer(handler);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
