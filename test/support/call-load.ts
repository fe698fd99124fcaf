import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";

/** Calls made under load, each with a request id of its own. */
export interface CallLoad {
  /** The request ids whose whole answer arrived, in the order they did. */
  readonly ok: string[];
  /** How many calls were started. */
  made(): number;
  /** Settles once every client has stopped. */
  readonly done: Promise<unknown>;
}

/**
 * Calls a gateway from `clients` unary and as many streaming clients (Connect,
 * HTTP/1.1, authenticated with `key`), each calling again once its answer is
 * whole, until the gateway stops answering: a client stops at its first call
 * that fails or is answered for another request id.
 */
export function callUntilStopped(url: string, key: string, clients: number): CallLoad {
  const ok: string[] = [];
  let made = 0;
  const client = createClient(AIService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const headers = (id: string) => ({ authorization: `Bearer ${key}`, "x-request-id": id });
  const unary = async (): Promise<void> => {
    for (;;) {
      const id = `unary-${made++}`;
      try {
        const res = await fetch(`${url}/switchboard.v1.AIService/Chat`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers(id) },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: `call ${id}` }] }),
        });
        const body = (await res.json()) as { requestId?: string };
        if (res.status !== 200 || body.requestId !== id) return;
      } catch {
        return;
      }
      ok.push(id);
    }
  };
  const stream = async (): Promise<void> => {
    for (;;) {
      const id = `stream-${made++}`;
      let summary = false;
      try {
        for await (const event of client.chatStream({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: `stream ${id}` }] }, { headers: headers(id) })) {
          if (event.event.case === "summary" && event.event.value.requestId === id) summary = true;
        }
      } catch {
        return;
      }
      if (!summary) return;
      ok.push(id);
    }
  };
  const done = Promise.all([...Array.from({ length: clients }, unary), ...Array.from({ length: clients }, stream)]);
  return { ok, made: () => made, done };
}
