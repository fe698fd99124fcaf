import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

/** A deterministic question (temperature 0): cached by default. */
const ask = (content: string, model: string) => ({ model, messages: [{ role: Role.USER, content }], temperature: 0 });

/**
 * Answers are filed under the provider and upstream model that answered, not
 * the name called: a purge by a route alias would find nothing and report a
 * success with the answer still cached. It is refused, naming the model to
 * purge instead; names that are no alias are purged as asked.
 */
describe("PurgeCache by a route alias", () => {
  let world: UsageWorld;
  let admin: ReturnType<typeof createClient<typeof AdminService>>;
  /** Whether the question is answered from the cache (asking keeps it again when it was not). */
  const cached = async (question: ReturnType<typeof ask>) => (await world.gw.client("connect").chat(question)).cached;

  beforeAll(async () => {
    world = await startUsageWorld("sqlite", {
      routes: [
        { model: "team-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "team" } },
        { model: "support-bot", provider: "openai", upstream_model: "gpt-4o-mini" },
      ],
    });
    admin = world.admin();
  });
  afterAll(() => world?.close());

  it("refuses an alias, naming the provider and model its answers are filed under, and purges nothing", async () => {
    const question = ask("asked through an alias", "support-bot");
    await cached(question);
    for (const alias of ["support-bot", "team-bot"]) {
      const err = await failure(admin.purgeCache({ model: alias }));
      expect(err.code, err.rawMessage).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(`"${alias}" is a route alias, and cached answers are filed under the model that answered: purge "openai/gpt-4o-mini" instead`);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "INVALID_ARGUMENT" });
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["model"]);
    }
    // With a team too: still refused, and the answer is still cached.
    expect((await failure(admin.purgeCache({ team: "payments", model: "team-bot" }))).code).toBe(Code.InvalidArgument);
    expect(await cached(question)).toBe(true);

    // The name it points to purges it.
    expect((await admin.purgeCache({ model: "openai/gpt-4o-mini" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect(await cached(question)).toBe(false);
  });

  it("purges as asked a model routed to itself, a provider/model name, and a name no route serves any more", async () => {
    const question = ask("asked by its own name", "gpt-4o-mini");
    await cached(question);
    expect((await admin.purgeCache({ model: "gpt-4o-mini" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect(await cached(question)).toBe(false);
    // Written as it is: an answer may be filed under that name (a direct call of it).
    expect((await admin.purgeCache({ model: "openai/support-bot" })).purgedEntries).toBe(0n);
    // Routes change: answers cached under a model no route serves now may still be there.
    expect((await admin.purgeCache({ model: "retired-model-v1" })).purgedEntries).toBe(0n);
  });
});
