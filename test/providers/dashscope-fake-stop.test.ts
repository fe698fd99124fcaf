// The DashScope fake holds `stop` to its documented shape, a string or a list
// (../shared/reference/vendor-wire-formats.md §3a; it did not check it, audit
// translate, "The fakes against the rules they cite"), and the gateway's
// stop sequences reach it in that shape.
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";

const world = gatewayOverFake(
  () => startDashScopeFake({ apiKey: API_KEY }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }),
);

/** The fake's answer to a generation request with these `parameters.stop`. */
async function withStop(stop: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${world.fake.baseUrl}/services/aigc/text-generation/generation`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "qwen-plus", input: { messages: [{ role: "user", content: "hi" }] }, parameters: { result_format: "message", stop } }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("the DashScope fake's stop", () => {
  it.each([["a string", "END"], ["a list of strings", ["END", "\n\n"]]])("takes %s", async (_, stop) => {
    expect((await withStop(stop)).status).toBe(200);
  });

  it.each([["a number", 5], ["an object", { text: "END" }], ["a list with a number in it", ["END", 7]]])("refuses %s, as InvalidParameter", async (_, stop) => {
    expect(await withStop(stop)).toEqual({ status: 400, body: expect.objectContaining({ code: "InvalidParameter", message: expect.stringContaining("stop must be a string or a list of strings") }) });
  });

  it("is sent the caller's stop sequences as a list, and answers", async () => {
    const res = await world.gw.client().chat({ model: "qwen-plus", messages: [{ role: Role.USER, content: "hello there" }], stop: ["END", "DONE"] });
    expect(res.message?.content).toBe("Echo: hello there");
    expect(world.fake.generationRequests().at(-1)!.body.parameters.stop).toEqual(["END", "DONE"]);
  });
});
