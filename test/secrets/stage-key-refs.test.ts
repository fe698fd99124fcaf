// What StageKey may read: a vendor key of the provider, never the gateway's
// own secrets, on the admin API and on the Redis action bus alike.
import { Code, createClient } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { parseSecretRef, type ProviderConfig } from "../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../src/config/secrets-config.js";
import { KeyPoolError } from "../../src/secrets/key-pool.js";
import { ProviderPools } from "../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { EnvSecretSource, SecretResolver } from "../../src/secrets/secret-source.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** The gateway's own secrets, and ordinary process variables: none is a vendor key. */
const FORBIDDEN = [
  "SWITCHBOARD_MASTER_KEY",
  "SWITCHBOARD_SECRET_KEY",
  "SWITCHBOARD_PEPPER",
  "VAULT_TOKEN",
  "BAO_TOKEN",
  "AWS_SECRET_ACCESS_KEY",
  "DATABASE_URL",
  "REDIS_URL",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "NODE_OPTIONS",
  "HOME",
  "PATH",
  "SHELL",
  "GITHUB_TOKEN",
  "OPENAI_BASE_URL",
  "openai_api_key",
];

describe("ProviderPools.stage and apply", () => {
  let pools: ProviderPools;
  /** Every variable the env source read: a refused reference must never be read at all. */
  const read: string[] = [];
  const env: NodeJS.ProcessEnv = new Proxy({ OPENAI_API_KEY: "sk-primary", OPENAI_API_KEY_NEXT: "sk-next", SWITCHBOARD_MASTER_KEY: "sk-master", HOME: "/root" } as NodeJS.ProcessEnv, {
    get: (target, name: string) => (read.push(name), target[name]),
  });
  const openai = { name: "openai", keys: [{ id: "primary", secret: parseSecretRef("env:OPENAI_API_KEY"), weight: 1 }], timeoutMs: 1_000 } as unknown as ProviderConfig;

  beforeEach(async () => {
    pools = await ProviderPools.create([openai], {
      resolver: new SecretResolver([new EnvSecretSource(env)]),
      logger: pino({ level: "silent" }),
      metrics: new SecretMetrics(new Registry()),
      rules: DEFAULT_KEY_POOL,
    });
    read.length = 0;
  });

  const refusal = async (stage: Promise<unknown>): Promise<KeyPoolError> => {
    const err = await stage.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeyPoolError);
    return err as KeyPoolError;
  };

  it("refuses env: references to anything but the provider's key variables, with one message whether the variable is set or not", async () => {
    const messages = new Set<string>();
    for (const name of [...FORBIDDEN, "SWITCHBOARD_NOT_SET_ANYWHERE"]) {
      const err = await refusal(pools.stage("openai", { credentialId: "x", secretRef: `env:${name}` }));
      expect(err).toMatchObject({ code: "invalid_argument", field: "secret_ref" });
      messages.add(err.message.replace(name, "NAME"));
      expect(err.message).not.toContain(name);
    }
    expect(messages.size).toBe(1);
    expect(await refusal(pools.stage("openai", { credentialId: "x", secretRef: "env:OPENAI_API_KEY_NEXT", secondaryRef: "env:SWITCHBOARD_MASTER_KEY" }))).toMatchObject({ field: "secondary_ref" });
    expect(read.filter((name) => !name.startsWith("OPENAI_"))).toEqual([]);
  });

  it("stages the provider's own key variables, and names one that is not set", async () => {
    expect((await pools.stage("openai", { credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT" })).source).toBe("env:OPENAI_API_KEY_NEXT");
    expect(await refusal(pools.stage("openai", { credentialId: "later", secretRef: "env:OPENAI_KEY_LATER" }))).toMatchObject({ code: "failed_precondition" });
  });

  it("refuses weights that are not finite numbers from 0 to 1000", async () => {
    for (const weight of [Infinity, 1e308, 1001, -1, NaN]) {
      expect(await refusal(pools.stage("openai", { credentialId: "w", secretRef: "env:OPENAI_API_KEY_NEXT", weight }))).toMatchObject({ code: "invalid_argument", field: "weight" });
    }
    expect((await pools.stage("openai", { credentialId: "w", secretRef: "env:OPENAI_API_KEY_NEXT", weight: 1000 })).id).toBe("openai/w");
  });

  it("applies the same checks to another instance's action from Redis", async () => {
    await pools.apply({ op: "stage", provider: "openai", request: { credentialId: "stolen", secretRef: "env:SWITCHBOARD_MASTER_KEY" } });
    // A weight Redis carried as JSON: Infinity arrives as null.
    await pools.apply({ op: "stage", provider: "openai", request: JSON.parse('{"credentialId":"heavy","secretRef":"env:OPENAI_API_KEY_NEXT","weight":null}') });
    await pools.apply({ op: "stage", provider: "openai", request: { credentialId: "huge", secretRef: "env:OPENAI_API_KEY_NEXT", weight: 1e308 } });
    expect(pools.pool("openai")!.list().map((key) => key.id)).toEqual(["openai/primary"]);
    expect(read).not.toContain("SWITCHBOARD_MASTER_KEY");
  });
});

describe("StageKey on the admin API", () => {
  let gw: TestGateway;
  const admin = () => createClient(AdminService, gw.transport("connect"));

  beforeAll(async () => {
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_API_KEY_NEXT: "sk-up-next" });
  });
  afterAll(() => gw?.stop());

  it("refuses the master key's variable as InvalidArgument, exactly as it refuses an unset one", async () => {
    const set = await failure(admin().stageKey({ parent: "providers/openai", credentialId: "x", secretRef: "env:SWITCHBOARD_MASTER_KEY", trafficShare: 1 }));
    const unset = await failure(admin().stageKey({ parent: "providers/openai", credentialId: "x", secretRef: "env:SWITCHBOARD_NOPE_KEY", trafficShare: 1 }));
    for (const err of [set, unset]) {
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field)).toEqual(["secret_ref"]);
    }
    expect(set.rawMessage).toBe(unset.rawMessage);
    expect(gw.logs.text).not.toContain(MASTER_KEY);
    const staged = await admin().stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT" });
    expect(staged.credential?.secretRef).toBe("env:OPENAI_API_KEY_NEXT");
  });

  it("refuses an infinite or huge weight", async () => {
    for (const weight of [Infinity, 1e308]) {
      const err = await failure(admin().stageKey({ parent: "providers/openai", credentialId: "big", secretRef: "env:OPENAI_API_KEY_NEXT", weight }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field)).toEqual(["weight"]);
    }
  });
});
