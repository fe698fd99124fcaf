// Calls Switchboard from a web page with Connect-Web: the Connect protocol over
// fetch (JSON here, HTTP/1.1 or HTTP/2). The gateway answers the page's origin
// when server.cors_origins lists it. A key in a page is visible to its users:
// give browsers their own narrowly scoped gateway keys.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";

/** A client for the gateway at baseUrl, e.g. "https://switchboard.example.com". */
export function connectFromBrowser(baseUrl: string, key: string): Client<typeof AIService> {
  const transport = createConnectTransport({
    baseUrl,
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
  return createClient(AIService, transport);
}

/** Streams an answer into a callback as it arrives. */
export async function streamInto(client: Client<typeof AIService>, question: string, onText: (text: string) => void): Promise<void> {
  for await (const event of client.chatStream({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: question }] })) {
    if (event.event.case === "delta") onText(event.event.value.content);
  }
}
