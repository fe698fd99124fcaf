import { ConnectError } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { MessageThreads, THREAD_OVERHEAD_BYTES, THREAD_TTL_MS } from "../../src/threads/message-threads.js";

const history = (text: string) => ({ system: "s", messages: [{ role: "user", content: text }, { role: "assistant", content: [{ type: "text", text: `Echo: ${text}` }] }] });

function refusalOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return (err as ConnectError).findDetails(ErrorInfoSchema)[0]?.metadata.error_code;
  }
  return undefined;
}

it("continues a thread once, for its own key, while it lives", () => {
  let now = 0;
  const threads = new MessageThreads({ now: () => now });
  threads.keep("msg_a", "key-1", history("a"));
  expect(refusalOf(() => threads.continueFrom("msg_a", "key-2"))).toBe("thread_not_found");

  const first = threads.continueFrom("msg_a", "key-1");
  expect(first.history).toEqual(history("a"));
  expect(refusalOf(() => threads.continueFrom("msg_a", "key-1"))).toBe("thread_continue_in_flight");
  first.released();
  const second = threads.continueFrom("msg_a", "key-1");
  second.continued();
  second.released(); // Too late: it was continued.
  expect(refusalOf(() => threads.continueFrom("msg_a", "key-1"))).toBe("thread_already_continued");

  threads.keep("msg_b", "key-1", history("b"));
  now += THREAD_TTL_MS;
  expect(refusalOf(() => threads.continueFrom("msg_b", "key-1"))).toBe("thread_not_found");
  expect(threads.size).toBe(0);
});

it("keeps within a key's bytes by dropping that key's oldest threads, not another key's", () => {
  const one = Buffer.byteLength(JSON.stringify(history("a"))) + THREAD_OVERHEAD_BYTES;
  const threads = new MessageThreads({ maxBytesPerKey: one * 2 });
  threads.keep("msg_other", "key-2", history("a"));
  for (const id of ["msg_1", "msg_2", "msg_3"]) threads.keep(id, "key-1", history("a"));
  expect(refusalOf(() => threads.continueFrom("msg_1", "key-1"))).toBe("thread_not_found");
  expect(threads.continueFrom("msg_3", "key-1").history).toEqual(history("a"));
  expect(threads.continueFrom("msg_other", "key-2").history).toEqual(history("a"));
});
