// Images to a model the catalogue knows takes none were sent as they were,
// and the vendor's 400 ended the call with no fallback tried (audit translate
// #8). Now such a candidate is skipped for a fallback that takes images; with
// none, the caller's InvalidArgument names the image part, and its ErrorInfo
// the model, before any vendor is asked. A model nothing is known of gets
// the images, as before.
import { Code } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const TEXT_ONLY = "gpt-3.5-turbo";
const SEES_IMAGES = "gpt-4o-mini";
/** gpt-3.5-turbo, falling back to gpt-4o-mini. */
const FALLING_BACK = "vision-fallback";
/** A model the catalogue does not know (a fine-tune: only OpenAI's defaults describe it). */
const UNKNOWN = "house-finetune";
const UNKNOWN_UPSTREAM = "ft:house-model-1";
const URL = "https://example.com/cat.png";

let openai: OpenAIFake;
let gw: TestGateway;
let oa: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001", models: [TEXT_ONLY, SEES_IMAGES, UNKNOWN_UPSTREAM] });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-fake-000000000001", OPENAI_BASE_URL: openai.baseUrl },
    {
      traffic: { retry: { max_attempts: 1 } },
      routes: [
        { model: FALLING_BACK, provider: "openai", upstream_model: TEXT_ONLY, fallbacks: [SEES_IMAGES] },
        { model: UNKNOWN, provider: "openai", upstream_model: UNKNOWN_UPSTREAM },
      ],
    },
  );
  oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
});

const imageMessages = [{ role: "user" as const, content: [{ type: "text" as const, text: "what is this?" }, { type: "image_url" as const, image_url: { url: URL } }] }];
const imagesSent = (body: Record<string, any>) => JSON.stringify(body.messages).includes(URL);

describe("image parts", () => {
  it("to a text-only model: InvalidArgument naming the part, ErrorInfo the model, no vendor asked", async () => {
    const before = openai.chatRequests().length;
    const err = await failure(
      gw.client().chat({ model: TEXT_ONLY, messages: [{ role: Role.USER, parts: [{ part: { case: "text", value: "what is this?" } }, { part: { case: "imageUrl", value: { url: URL } } }] }] }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(`messages[0].parts[1]: ${TEXT_ONLY} takes no image input`);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "INVALID_ARGUMENT", metadata: { provider: "openai", model: TEXT_ONLY } });
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["messages[0].parts[1]"]);
    expect(openai.chatRequests().length).toBe(before);
  });

  it("on the REST surface: a 400 the OpenAI SDK reads, no vendor asked", async () => {
    const before = openai.chatRequests().length;
    const err = await oa.chat.completions.create({ model: TEXT_ONLY, messages: imageMessages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(`${TEXT_ONLY} takes no image input`);
    expect(openai.chatRequests().length).toBe(before);
  });

  it("a route whose primary takes none is served by its fallback that does", async () => {
    await oa.chat.completions.create({ model: FALLING_BACK, messages: imageMessages });
    const sent = openai.chatRequests().at(-1)!;
    expect(sent.model).toBe(SEES_IMAGES);
    expect(imagesSent(sent)).toBe(true);
  });

  it("a model nothing is known of gets them, as before", async () => {
    await oa.chat.completions.create({ model: UNKNOWN, messages: imageMessages });
    const sent = openai.chatRequests().at(-1)!;
    expect(sent.model).toBe(UNKNOWN_UPSTREAM);
    expect(imagesSent(sent)).toBe(true);
  });

  it("text only, to a text-only model: served", async () => {
    await oa.chat.completions.create({ model: TEXT_ONLY, messages: [{ role: "user", content: "hi" }] });
    expect(openai.chatRequests().at(-1)!.model).toBe(TEXT_ONLY);
  });
});
