import { afterAll, beforeAll } from "vitest";
import type { ConfigFile } from "../../src/config/schema.js";
import { startAnthropicFake, type AnthropicFake, type AnthropicFakeOptions } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "./gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "./key-pool-settings.js";

/** What a gateway test needs of a fake vendor: where it listens, and how to stop it. */
interface FakeVendor {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** The fake vendor and the gateway calling it; both are there once the tests run. */
export interface FakeVendorGateway<Fake extends FakeVendor> {
  readonly fake: Fake;
  readonly gw: TestGateway;
}

/**
 * A fake vendor and a gateway calling it, started before the tests of the
 * file (or describe block) that calls this and stopped after them. `env`
 * points the gateway at the fake: its key and base URL.
 */
export function gatewayOverFake<Fake extends FakeVendor>(startFake: () => Promise<Fake>, env: (fake: Fake) => NodeJS.ProcessEnv, file: ConfigFile = {}): FakeVendorGateway<Fake> {
  const world = {} as { -readonly [K in keyof FakeVendorGateway<Fake>]: FakeVendorGateway<Fake>[K] };
  beforeAll(async () => {
    world.fake = await startFake();
    world.gw = await startGateway(env(world.fake), file);
  });
  afterAll(async () => {
    await world.gw?.stop();
    await world.fake?.close();
  });
  return world;
}

/** `gatewayOverFake` for the OpenAI fake, which takes the one key the gateway holds ("sk-up"). */
export function gatewayOverOpenAIFake(file: ConfigFile = {}): FakeVendorGateway<OpenAIFake> {
  return gatewayOverFake(() => startOpenAIFake({ apiKey: "sk-up" }), (fake) => ({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }), file);
}

/** `gatewayOverFake` for the Anthropic fake (`options` besides its key), which takes the one key the gateway holds ("sk-ant-vendor"). */
export function gatewayOverAnthropicFake(options: Omit<AnthropicFakeOptions, "apiKey"> = {}, file: ConfigFile = {}): FakeVendorGateway<AnthropicFake> {
  return gatewayOverFake(() => startAnthropicFake({ apiKey: "sk-ant-vendor", ...options }), (fake) => ({ ANTHROPIC_API_KEY: "sk-ant-vendor", ANTHROPIC_BASE_URL: fake.baseUrl }), file);
}

/**
 * Config for tests that script one vendor failure after another: one attempt
 * a call, so each scripted error reaches the caller (retries: test/gateway),
 * and no key benched by a scripted 429 or rejection for the tests after it
 * (key pools: test/secrets).
 */
export const SCRIPTED_FAILURES_REACH_THE_CALLER: ConfigFile = { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR };
