import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { storeEnv } from "../support/stores.js";

// A watch (WatchCalls) is authenticated when it opens and may run for days,
// seeing every key's calls: it must end when its key is revoked, loses its
// admin rights or expires, on the instance where that happened and on the
// others (which hear of it through the store's change counter).

describe("a watch ends with its key's rights", () => {
  let fake: OpenAIFake;
  let here: TestGateway;
  let there: TestGateway;
  let drop: () => Promise<void>;
  const admin = (gw: TestGateway, key?: string) => createClient(AdminService, gw.transport("connect", key));

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    const store = await storeEnv("postgres");
    drop = store.drop;
    const env = { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_PEPPER: "a-shared-pepper-for-both-instances", ...store.env };
    [here, there] = await Promise.all([startGateway(env), startGateway(env)]);
  });
  afterAll(async () => {
    await Promise.all([here?.stop(), there?.stop()]);
    await fake?.close();
    await drop?.();
  });

  /** Watches on `gw` with `secret` until the watch ends: its error's reason, or "ended". */
  async function watchUntilEnd(gw: TestGateway, secret: string): Promise<{ ended: Promise<string>; seen: () => number }> {
    let seen = 0;
    const ended = (async () => {
      for await (const _ of admin(gw, secret).watchCalls({})) seen++;
      return "ended";
    })().catch((err: unknown) => reasonOf(ConnectError.from(err)) ?? String(err));
    // The watch is on once a call reaches it.
    await vi.waitFor(async () => {
      await gw.client("connect").listModels({});
      expect(seen).toBeGreaterThan(0);
    });
    return { ended, seen: () => seen };
  }

  /** The changes have reached both instances (well past their poll of the store), and the watch still sees calls. */
  async function expectStillWatching(watch: { ended: Promise<string>; seen: () => number }): Promise<void> {
    const before = watch.seen();
    await vi.waitFor(async () => {
      await here.client("connect").listModels({});
      expect(watch.seen()).toBeGreaterThan(before + 3);
    });
    const state = await Promise.race([watch.ended, new Promise((resolve) => setTimeout(() => resolve("still watching"), 1_500))]);
    expect(state).toBe("still watching");
  }

  it.each([
    ["revoked here", "here", "KEY_REVOKED"],
    ["revoked on another instance", "there", "KEY_REVOKED"],
    ["demoted here", "here", "ADMIN_SCOPE_REQUIRED"],
    ["demoted on another instance", "there", "ADMIN_SCOPE_REQUIRED"],
  ] as const)("when its key is %s", async (_, where, reason) => {
    const { secret, key } = await admin(here).createKey({ key: { displayName: "watcher", admin: true } });
    const watch = await watchUntilEnd(here, secret);
    const changer = admin(where === "here" ? here : there);
    if (reason === "KEY_REVOKED") await changer.revokeKey({ name: key!.name });
    else await changer.updateKey({ key: { name: key!.name, admin: false }, updateMask: { paths: ["admin"] } });
    expect(await watch.ended).toBe(reason);
  });

  it("when its key expires", async () => {
    const { secret } = await admin(here).createKey({ key: { displayName: "short-lived watcher", admin: true, expiration: { case: "ttl", value: durationFromMs(3_000) } } });
    const watch = await watchUntilEnd(here, secret);
    expect(await watch.ended).toBe("KEY_EXPIRED");
  });

  it("not for the master key, whatever keys change", async () => {
    const watch = await watchUntilEnd(here, MASTER_KEY);
    const other = await admin(there).createKey({ key: { displayName: "other" } });
    await admin(there).revokeKey({ name: other.key!.name });
    await expectStillWatching(watch);
  });

  it("not when another key changes, or its own key changes but keeps its rights", async () => {
    const { secret, key } = await admin(here).createKey({ key: { displayName: "steady watcher", admin: true } });
    const watch = await watchUntilEnd(here, secret);
    const other = await admin(here).createKey({ key: { displayName: "other" } });
    await admin(here).revokeKey({ name: other.key!.name });
    await admin(there).updateKey({ key: { name: key!.name, displayName: "renamed watcher" }, updateMask: { paths: ["display_name"] } });
    await expectStillWatching(watch);
  });
});
