// An agent with tools and a JSON answer (the OpenAI Agents SDK's tools plus
// output_type) served by Gemini 2.x, which refuses function declarations
// beside responseMimeType application/json (400 "Function calling with a
// response mime type: 'application/json' is unsupported",
// googleapis/python-genai#867): the tools are kept, the answer is asked for as
// text (a schema in the system instruction), and the change is reported; a
// route whose policy is "refuse" refuses it. Gemini 3 takes both as sent.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const KEY = "AIzaFakeGeminiKey000000001";
const STRICT = "strict-gemini";

let gemini: GeminiFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: KEY });
  gw = await startGateway(
    { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: gemini.baseUrl },
    { key_pool: EVERY_CALL_REACHES_THE_VENDOR, routes: [{ model: STRICT, provider: "gemini", upstream_model: "gemini-2.5-flash", when_unsupported: "refuse" }] },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await gemini?.close();
});

const LOOKUP: OpenAI.ChatCompletionTool = { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } };
const SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const AS_SCHEMA = { type: "json_schema", json_schema: { name: "answer", schema: SCHEMA } } as const;

function ask(model: string, response_format: OpenAI.ChatCompletionCreateParams["response_format"], tools = [LOOKUP]): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return { model, messages: [{ role: "user", content: "weather in Paris as json" }], tools, response_format };
}

describe("the Gemini fake", () => {
  it("refuses function declarations beside responseMimeType application/json for Gemini 2.x, as Gemini does, and takes them for Gemini 3", async () => {
    const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }], tools: [{ functionDeclarations: [{ name: "lookup" }] }], generationConfig: { responseMimeType: "application/json" } };
    const call = (model: string) => fetch(`${gemini.baseUrl}/models/${model}:generateContent`, { method: "POST", headers: { "x-goog-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify(body) });
    const refused = await call("gemini-2.5-flash");
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { status: "INVALID_ARGUMENT", message: "Function calling with a response mime type: 'application/json' is unsupported" } });
    expect((await call("gemini-2.0-flash")).status).toBe(400);
    expect((await call("gemini-3-pro-preview")).status).toBe(200);
  });
});

describe("JSON asked for beside tools, served by Gemini 2.x", () => {
  it("keeps the tools, sends a JSON schema as a system instruction instead of responseJsonSchema, and reports the change", async () => {
    const { data, response } = await sdk.chat.completions.create(ask("gemini-2.5-flash", AS_SCHEMA)).withResponse();
    expect(data.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: "lookup" } });
    const sent = gemini.generateRequests().at(-1)!;
    expect(sent.tools[0].functionDeclarations[0].name).toBe("lookup");
    expect(sent.generationConfig?.responseMimeType).toBeUndefined();
    expect(sent.generationConfig?.responseJsonSchema).toBeUndefined();
    expect(sent.systemInstruction.parts[0].text).toContain(JSON.stringify(SCHEMA));
    expect(response.headers.get("x-switchboard-adjusted")).toContain("response_format=degraded(json_schema->text)");
  });

  it("sends JSON mode beside tools as text, on a stream too", async () => {
    const { data: stream, response } = await sdk.chat.completions.create({ ...ask("gemini-2.0-flash", { type: "json_object" }), stream: true }).withResponse();
    expect(response.headers.get("x-switchboard-adjusted")).toContain("response_format=degraded(json_object->text)");
    const names: string[] = [];
    for await (const chunk of stream) for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.name) names.push(call.function.name);
    expect(names).toEqual(["lookup"]);
    const sent = gemini.generateRequests().at(-1)!;
    expect(sent.generationConfig?.responseMimeType).toBeUndefined();
    expect(sent.systemInstruction).toBeUndefined();
  });

  it("keeps JSON mode when the request has no tools", async () => {
    const { data, response } = await sdk.chat.completions.create(ask("gemini-2.5-flash", AS_SCHEMA, [])).withResponse();
    expect(JSON.parse(data.choices[0]!.message.content!)).toEqual({ answer: "Echo: weather in Paris as json" });
    expect(gemini.generateRequests().at(-1)!.generationConfig).toMatchObject({ responseMimeType: "application/json", responseJsonSchema: SCHEMA });
    expect(response.headers.get("x-switchboard-adjusted") ?? "").not.toContain("response_format");
  });

  it("is refused, saying why, on a route whose policy is refuse, before any call to Gemini", async () => {
    const before = gemini.generateRequests().length;
    const err = await sdk.chat.completions.create(ask(STRICT, { type: "json_object" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(501);
    expect((err as Error).message).toContain('gemini-2.5-flash does not take JSON mode in a request with tools, and the route\'s policy for that is "refuse"');
    expect(gemini.generateRequests().length).toBe(before);
  });
});

describe("JSON asked for beside tools, served by Gemini 3", () => {
  it("sends both as asked", async () => {
    const { response } = await sdk.chat.completions.create(ask("gemini-3-pro-preview", AS_SCHEMA)).withResponse();
    expect(gemini.generateRequests().at(-1)!).toMatchObject({ tools: [{ functionDeclarations: [{ name: "lookup" }] }], generationConfig: { responseMimeType: "application/json", responseJsonSchema: SCHEMA } });
    expect(response.headers.get("x-switchboard-adjusted") ?? "").not.toContain("response_format");
  });
});
