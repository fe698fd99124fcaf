// One Embed call is bounded in what it makes the vendor do and what it
// answers: at most 2,048 inputs (OpenAI's own bound), dimensions the model
// makes, and batches the vendor embedded are charged even when a later one
// fails.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let openai: OpenAIFake;
let dashscope: DashScopeFake;
let gw: TestGateway;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-up", models: ["text-embedding-3-small"] });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-up" });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-up", OPENAI_BASE_URL: openai.baseUrl, DASHSCOPE_API_KEY: "sk-dashscope-up", DASHSCOPE_BASE_URL: dashscope.baseUrl },
    // A dollar a token: any charge shows.
    { pricing: { models: { "text-embedding-v3": { input: 1_000_000, output: 0 } } }, traffic: { retry: { max_attempts: 1 } } },
  );
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
  await dashscope?.close();
});

const embeddings = (body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/embeddings`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("Embed bounds", () => {
  it("refuses more than 2,048 inputs before any vendor request, on REST and Connect", async () => {
    const sent = openai.requests.length;
    const inputs = Array.from({ length: 2_049 }, () => "a");
    const res = await embeddings({ model: "text-embedding-3-small", input: inputs });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("at most 2048 inputs a call");
    const err = await failure(gw.client("connect").embed({ model: "text-embedding-3-small", inputs }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(openai.requests.length).toBe(sent);
    expect((await embeddings({ model: "text-embedding-3-small", input: inputs.slice(1) })).status).toBe(200);
  });

  it("refuses dimensions the model does not make, naming those it does", async () => {
    const sent = openai.requests.length;
    const res = await embeddings({ model: "text-embedding-3-small", input: "hi", dimensions: 5_000 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("text-embedding-3-small makes vectors of at most 1536 dimensions, not 5000");
    const err = await failure(gw.client("connect").embed({ model: "dashscope/text-embedding-v3", inputs: ["hi"], dimensions: 100 }));
    expect(err.rawMessage).toContain("text-embedding-v3 makes vectors of 1024, 768, 512, 256, 128, 64 dimensions, not 100");
    expect(openai.requests.length).toBe(sent);
    expect((await embeddings({ model: "text-embedding-3-small", input: "hi", dimensions: 512 })).status).toBe(200);
  });

  it("charges the batches the vendor embedded when a later batch fails", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "embedder", key: { displayName: "embedder", budget: { limit: { units: 1_000n } } } });
    // Five batches of ten (DashScope's most); the last holds a text over the model's 8,192 tokens.
    const inputs = [...Array.from({ length: 40 }, (_, i) => `text ${i}`), "w ".repeat(8_193)];
    const err = await failure(gw.client("connect", secret).embed({ model: "dashscope/text-embedding-v3", inputs }));
    expect(err.code).toBe(Code.InvalidArgument);
    // At least the batch whose worker went on to the failing one was embedded: 10 texts of 2 words, $1 a token.
    await expect.poll(async () => Number((await admin.getKey({ name: "keys/embedder" })).key?.budgetStatus?.spent?.units ?? 0n)).toBeGreaterThanOrEqual(20);
  });
});
