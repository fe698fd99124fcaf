import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { openPage, serveBrowserApp, type BrowserApp } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// A real browser (Debian's Chromium) runs the official Anthropic and OpenAI
// SDKs (dangerouslyAllowBrowser) in a page from one origin against the
// gateway's REST surfaces on another: the CORS preflight must allow every
// header they send (anthropic-version, anthropic-beta, x-stainless-*, ...),
// or the browser never makes the call.

const PAGE_SCRIPT = `
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
async function anthropicSays(baseURL, apiKey, question, beta) {
  const client = new Anthropic({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
  const params = { model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: question }] };
  const answer = beta ? await client.beta.messages.create({ ...params, betas: ["interleaved-thinking-2025-05-14"] }) : await client.messages.create(params);
  return answer.content[0].text;
}
async function anthropicStreams(baseURL, apiKey, question) {
  const client = new Anthropic({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
  const answer = await client.messages.stream({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: question }] }).finalMessage();
  return answer.content[0].text;
}
async function openaiSays(baseURL, apiKey, question) {
  const client = new OpenAI({ baseURL, apiKey, organization: "org-1", project: "proj-1", dangerouslyAllowBrowser: true, maxRetries: 0 });
  const answer = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] }, { timeout: 30000 });
  return answer.choices[0].message.content;
}
Object.assign(window, { anthropicSays, anthropicStreams, openaiSays });
`;

interface BrowserWindow {
  anthropicSays(baseURL: string, apiKey: string, question: string, beta: boolean): Promise<string>;
  anthropicStreams(baseURL: string, apiKey: string, question: string): Promise<string>;
  openaiSays(baseURL: string, apiKey: string, question: string): Promise<string>;
}

let fake: OpenAIFake;
let gw: TestGateway;
let site: BrowserApp;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  site = await serveBrowserApp(PAGE_SCRIPT, "js", "sdk app");
  const origin = site.origin;
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { cors_origins: [origin] } });
  ({ browser, page } = await openPage(origin));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await fake?.close();
  await site?.close();
});

describe("the official SDKs in a real browser, from another origin", () => {
  it("Anthropic: messages.create, beta.messages.create (anthropic-beta) and messages.stream() through the preflight", async () => {
    const answers = await page.evaluate(
      async ({ baseURL, key }) => {
        const w = globalThis as unknown as BrowserWindow;
        return [await w.anthropicSays(baseURL, key, "plain", false), await w.anthropicSays(baseURL, key, "beta", true), await w.anthropicStreams(baseURL, key, "streamed")];
      },
      { baseURL: gw.url, key: MASTER_KEY },
    );
    expect(answers).toEqual(["Echo: plain", "Echo: beta", "Echo: streamed"]);
  });

  it("OpenAI: chat.completions.create with an organization, a project and a timeout through the preflight", async () => {
    const answer = await page.evaluate(
      async ({ baseURL, key }) => (globalThis as unknown as BrowserWindow).openaiSays(baseURL, key, "hello"),
      { baseURL: `${gw.url}/v1`, key: MASTER_KEY },
    );
    expect(answer).toBe("Echo: hello");
  });
});
