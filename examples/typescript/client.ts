// Calls Switchboard's AIService over gRPC from Node through the generated
// Protobuf-ES code (gen/ts) and connect-node: lists the models, asks a
// question, and streams the answer to another.
//
//   SWITCHBOARD_URL=http://localhost:8080 SWITCHBOARD_KEY=sk-... npx tsx examples/typescript/client.ts
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";

export async function run(baseUrl: string, key: string, print: (line: string) => void = console.log): Promise<void> {
  const transport = createGrpcTransport({
    baseUrl, // "http://localhost:8080" is h2c; "https://..." is TLS
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
  const client = createClient(AIService, transport);

  const { models } = await client.listModels({}, { timeoutMs: 30_000 });
  for (const model of models) print(`${model.id} (${model.provider})`);

  // Errors reject with a ConnectError: err.code is Code.Unauthenticated, Code.DeadlineExceeded, ...
  const reply = await client.chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hello" }] }, { timeoutMs: 30_000 });
  print(reply.message?.content ?? "");

  let text = "";
  for await (const event of client.chatStream({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "tell me a story" }] }, { timeoutMs: 30_000 })) {
    if (event.event.case === "delta") text += event.event.value.content;
    if (event.event.case === "summary") print(`${text}\n[${FinishReason[event.event.value.finishReason]}, ${event.event.value.usage?.totalTokens} tokens]`);
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  await run(process.env.SWITCHBOARD_URL ?? "http://localhost:8080", process.env.SWITCHBOARD_KEY ?? "");
}
