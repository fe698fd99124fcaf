// A usage ledger journal that cannot be written (a full disk) is reported: the `ledger_journal` dependency is
// degraded on /healthz, in switchboard_dependency_up and in grpc.health, while calls go on.
import { mkdirSync, rmSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createLogger } from "../../src/observability/logger.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";
import { mountTmpfs } from "../support/tmpfs.js";

describe("the usage ledger journal's state", () => {
  it("is told when appends fail and when they work again", () => {
    const dir = tempDir("sb-journal-");
    const states: [boolean, string | undefined][] = [];
    // Every append starts a new file: a directory that is gone makes it fail.
    const journal = LedgerJournal.open(dir, { logger: createLogger("silent"), segmentBytes: 1, onStateChange: (writable, error) => states.push([writable, error]) });
    expect(journal.append(ledgerRow({ requestId: "a" }))).not.toBe(0);
    rmSync(dir, { recursive: true });
    expect(journal.append(ledgerRow({ requestId: "b" }))).toBe(0);
    expect(journal.append(ledgerRow({ requestId: "c" }))).toBe(0);
    expect(states).toEqual([[false, expect.stringMatching(/^ENOENT/)]]);
    mkdirSync(dir);
    expect(journal.append(ledgerRow({ requestId: "d" }))).not.toBe(0);
    expect(states).toEqual([[false, expect.stringMatching(/^ENOENT/)], [true, undefined]]);
    journal.close();
  });
});

const journalDisk = mountTmpfs(512);
describe.skipIf(!journalDisk)("a gateway whose journal's disk is full (a tmpfs; needs root)", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { ledger: { flush_interval_ms: 50, journal_dir: journalDisk!.dir } });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    journalDisk?.unmount();
  });

  const healthz = async () => (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
  const journalUp = async () => /switchboard_dependency_up\{dependency="ledger_journal"\} (\d)/.exec(await gw.app.metrics.registry.getSingleMetricAsString("switchboard_dependency_up"))?.[1];

  it("says degraded, naming ledger_journal, while calls go on; ok again once a row is journaled", async () => {
    const health = createClient(Health, gw.transport("grpc", null));
    const chat = () => gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    await chat();
    expect(await healthz()).toMatchObject({ status: "ok", dependencies: { ledger_journal: "ok" } });
    expect(await journalUp()).toBe("1");

    journalDisk!.fill();
    // Past a segment's size the journal needs new room: calls write rows until it has none.
    const big = "x".repeat(4_000);
    for (let i = 0; i < 40 && (await journalUp()) === "1"; i++) await gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: big }] });
    expect(await healthz()).toMatchObject({
      status: "degraded",
      dependencies: { ledger_journal: expect.stringMatching(/^cannot be written \(ENOSPC.*\); calls go on, but a crash would lose their usage rows not yet stored$/), store: "ok" },
    });
    expect((await health.check({ service: "ledger_journal" })).status).toBe(Status.NOT_SERVING);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    journalDisk!.free();
    await chat();
    expect(await healthz()).toMatchObject({ status: "ok", dependencies: { ledger_journal: "ok" } });
    expect((await health.check({ service: "ledger_journal" })).status).toBe(Status.SERVING);
  });
});
