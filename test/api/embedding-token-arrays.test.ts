// Token arrays as embedding input (OpenAI's `input` as int[] or int[][]):
// what LangChain's OpenAIEmbeddings sends by default, through the official
// openai SDK with its default options. OpenAI's own API takes them, and an
// endpoint its operator declares does (embed_token_inputs): a candidate of
// another is skipped, and a call none can serve is refused with what to do
// instead. Their bounds are checked before any vendor request. The fake
// stands in for OpenAI at a loopback URL, not OpenAI's, so its providers are
// declared; api.openai.com needs no switch (test/unit/token-input-endpoints.test.ts).
import { Code } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedTokens } from "../../src/gateway/usage-estimate.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const MODEL = "text-embedding-3-small";
/** Zhipu's embedding model first, OpenAI's after it. */
const ZHIPU_THEN_OPENAI = "zhipu-then-openai";
/** OpenAI's embedding model through a provider not named "openai". */
const OAI_MODEL = "oai-embedding";

let openai: OpenAIFake;
let zhipu: OpenAIFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-up" });
  zhipu = await startOpenAIFake({ apiKey: "sk-zhipu-up", vendor: "zhipu", models: ["embedding-3"] });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-up", ZHIPU_API_KEY: "sk-zhipu-up", ZHIPU_BASE_URL: zhipu.baseUrl },
    {
      providers: {
        openai: { base_url: openai.baseUrl, api_key: "env:OPENAI_API_KEY", embed_token_inputs: true },
        oai: { dialect: "openai", base_url: openai.baseUrl, api_key: "env:OPENAI_API_KEY", embed_token_inputs: true },
      },
      routes: [
        { model: ZHIPU_THEN_OPENAI, provider: "zhipu", upstream_model: "embedding-3", fallbacks: [`openai/${MODEL}`] },
        { model: OAI_MODEL, provider: "oai", upstream_model: MODEL },
      ],
    },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
  await zhipu?.close();
});

const embeddingsPath = () => `${gw.url}/v1/embeddings`;
const embeddings = (body: Record<string, unknown>) =>
  fetch(embeddingsPath(), { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
const embeddingRequests = (fake: OpenAIFake) => fake.requests.filter((r) => r.path === "/v1/embeddings");

/** What the vendor itself answers, asked directly (floats, OpenAI's own default). */
async function fromVendor(input: unknown): Promise<number[][]> {
  const res = await fetch(`${openai.baseUrl}/embeddings`, { method: "POST", headers: { authorization: "Bearer sk-openai-up", "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, input }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { embedding: number[] }[] }).data.map((e) => e.embedding.map(Math.fround));
}

describe("token arrays on /v1/embeddings", () => {
  it("serves the openai SDK's token arrays with its default options, sent to OpenAI as written", async () => {
    const input = [
      [1, 2, 3],
      [4, 5],
    ];
    const res = await sdk.embeddings.create({ model: MODEL, input });
    expect(embeddingRequests(openai).at(-1)!.body).toMatchObject({ model: MODEL, input });
    expect(res.data.map((e) => e.embedding)).toEqual(await fromVendor(input));
    expect(res.data.map((e) => e.index)).toEqual([0, 1]);
    // The count is exact: five tokens.
    expect(res.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });

    // One text's ids (int[]) go as a list of one (int[][]): the same input to OpenAI.
    const single = await sdk.embeddings.create({ model: MODEL, input: [7, 8, 9] });
    expect(embeddingRequests(openai).at(-1)!.body).toMatchObject({ input: [[7, 8, 9]] });
    expect(single.data.map((e) => e.embedding)).toEqual(await fromVendor([7, 8, 9]));
  });

  it("takes them on the typed Embed RPC too", async () => {
    const res = await gw.client("connect").embed({ model: MODEL, tokenInputs: [{ ids: [1, 2, 3] }, { ids: [4, 5] }] });
    expect(embeddingRequests(openai).at(-1)!.body).toMatchObject({ input: [[1, 2, 3], [4, 5]] });
    expect(res.embeddings.map((e) => e.values)).toEqual(await fromVendor([[1, 2, 3], [4, 5]]));
    expect(res.usage?.promptTokens).toBe(5);
  });

  it("skips a candidate whose vendor takes no token arrays, and serves from the next", async () => {
    const sentToZhipu = embeddingRequests(zhipu).length;
    const res = await gw.client("connect").embed({ model: ZHIPU_THEN_OPENAI, tokenInputs: [{ ids: [1, 2, 3] }] });
    expect(res.provider).toBe("openai");
    expect(res.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["zhipu", "unsupported"],
      ["openai", "ok"],
    ]);
    expect(embeddingRequests(zhipu).length).toBe(sentToZhipu);
    // Texts still go to the first candidate.
    expect((await gw.client("connect").embed({ model: ZHIPU_THEN_OPENAI, inputs: ["hello"] })).provider).toBe("zhipu");
  });

  it("refuses token arrays no candidate takes, naming the provider, who serves them and how LangChain sends text", async () => {
    const sentToZhipu = embeddingRequests(zhipu).length;
    const res = await embeddings({ model: "embedding-3", input: [[1, 2, 3]] });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string; param: string } };
    expect(error.param).toBe("input");
    expect(error.message).toContain("token arrays are served only by OpenAI's own embeddings API (api.openai.com) and by providers configured to take them");
    expect(error.message).toContain('served by provider "zhipu" (embedding-3)');
    expect(error.message).toContain("its operator can set providers.zhipu.embed_token_inputs: true");
    expect(error.message).toContain("check_embedding_ctx_length=False");

    const err = await failure(gw.client("connect").embed({ model: "embedding-3", tokenInputs: [{ ids: [1] }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("token_inputs: token arrays are served only by OpenAI's own embeddings API");
    expect(embeddingRequests(zhipu).length).toBe(sentToZhipu);
    expect((await embeddings({ model: "embedding-3", input: ["hello"] })).status).toBe(200);
  });

  it("serves them through a provider of any name set to take them", async () => {
    const res = await gw.client("connect").embed({ model: OAI_MODEL, tokenInputs: [{ ids: [1, 2, 3] }] });
    expect(res.provider).toBe("oai");
    expect(embeddingRequests(openai).at(-1)!.body).toMatchObject({ model: MODEL, input: [[1, 2, 3]] });
    expect(res.embeddings.map((e) => e.values)).toEqual(await fromVendor([[1, 2, 3]]));
  });

  it("refuses them for a provider named openai whose base URL is not OpenAI's and is not set to take them", async () => {
    // Another OpenAI-compatible vendor under the name "openai": its name alone says nothing of its tokenizer.
    const elsewhere = await startGateway({ OPENAI_API_KEY: "sk-zhipu-up", OPENAI_BASE_URL: zhipu.baseUrl });
    try {
      const sentToZhipu = embeddingRequests(zhipu).length;
      const err = await failure(elsewhere.client("connect").embed({ model: MODEL, tokenInputs: [{ ids: [1, 2, 3] }] }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(`served by provider "openai" (${MODEL})`);
      expect(err.rawMessage).toContain("its operator can set providers.openai.embed_token_inputs: true");
      expect(embeddingRequests(zhipu).length).toBe(sentToZhipu);
    } finally {
      await elsewhere.stop();
    }
  });

  it("refuses token arrays out of bounds before any vendor request, naming the field", async () => {
    const sent = embeddingRequests(openai).length;
    const refusals: [unknown, string, string][] = [
      [[[1, 2.5]], "input[0][1]", "must be a token id: an integer from 0 to 4294967295"],
      [[1, -2], "input[1]", "must be a token id"],
      [[[2 ** 32]], "input[0][0]", "must be a token id"],
      [[[1, "2"]], "input[0][1]", "must be a token id"],
      [[[1], "two"], "input", "must be a string, an array of strings, an array of token ids (integers) or an array of such arrays"],
      [[[1], []], "input[1]", "must hold at least one token id"],
      [Array.from({ length: 2_049 }, () => [1]), "input", "at most 2048 inputs a call"],
      [Array.from({ length: 3 }, () => Array.from({ length: 100_001 }, () => 1)), "input", "at most 300000 tokens a call in all"],
    ];
    for (const [input, param, message] of refusals) {
      const res = await embeddings({ model: MODEL, input });
      expect(res.status, JSON.stringify(input).slice(0, 40)).toBe(400);
      const { error } = (await res.json()) as { error: { message: string; param: string } };
      expect(error).toMatchObject({ param, type: "invalid_request_error" });
      expect(error.message).toContain(message);
    }

    const client = gw.client("connect");
    expect((await failure(client.embed({ model: MODEL, tokenInputs: [{ ids: [] }] }))).rawMessage).toContain("token_inputs[0].ids: must hold at least one token id");
    expect((await failure(client.embed({ model: MODEL, inputs: ["a"], tokenInputs: [{ ids: [1] }] }))).rawMessage).toContain("set either inputs (texts) or token_inputs (token ids), not both");
    expect((await failure(client.embed({ model: MODEL, tokenInputs: Array.from({ length: 2_049 }, () => ({ ids: [1] })) }))).code).toBe(Code.InvalidArgument);
    expect(embeddingRequests(openai).length).toBe(sent);
    // At the bounds, served.
    expect((await embeddings({ model: MODEL, input: Array.from({ length: 2_048 }, () => [1]) })).status).toBe(200);
  });

  it("counts token arrays exactly for budgets and rate limits", () => {
    expect(embedTokens({ inputs: [], tokenInputs: [{ $typeName: "switchboard.v1.TokenIds", ids: [1, 2, 3] }, { $typeName: "switchboard.v1.TokenIds", ids: [4, 5] }] })).toEqual({ estimated: 5, bound: 5 });
  });
});
