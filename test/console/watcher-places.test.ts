// WatchCalls' places are shared by every tenant: without a bound per team,
// a few read-only team admins (4 idle streams each) filled all 32 and locked
// everyone out, the master key included. A team's admin keys now hold at
// most 8 together, keys of teams at most 24 in all, and the rest is kept for
// the master key and admin keys without a team.
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { CallFeed } from "../../src/api/envelope/call-feed.js";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { failure } from "../support/failure.js";

describe("the call feed's places", () => {
  it("holds a team's admin keys to 8 watchers together, whichever key asks", async () => {
    const feed = new CallFeed();
    const signal = new AbortController().signal;
    for (const key of ["alpha-1", "alpha-2"]) for (let i = 0; i < 4; i++) void feed.watch(key, () => true, signal, { team: "alpha" }).next();
    await vi.waitFor(() => expect(feed.watched).toBe(true));
    const refused = await failure(feed.watch("alpha-3", () => true, signal, { team: "alpha" }).next());
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toBe('the keys of team "alpha" already have 8 watchers on this instance\'s calls; end one first');
    expect(refused.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ key: "alpha-3", team: "alpha" });
    // Another team still has its places.
    const beta = feed.watch("beta-1", () => true, signal, { team: "beta" }).next();
    feed.close();
    expect((await beta).done).toBe(true);
  });

  it("keeps places for the master key and admin keys without a team, however many teams watch", async () => {
    const feed = new CallFeed();
    const stop = new AbortController();
    // 8 read-only team admins of 8 teams, 4 streams each: the audit's flood.
    const refusals: string[] = [];
    for (let team = 1; team <= 8; team++) {
      for (let i = 0; i < 4; i++) {
        feed.watch(`tadmin-${team}`, () => true, stop.signal, { team: `t${team}` }).next().catch((err: unknown) => refusals.push(ConnectError.from(err).rawMessage));
      }
    }
    await vi.waitFor(() => expect(refusals).toHaveLength(8));
    expect(new Set(refusals)).toEqual(new Set(["the 24 places for teams' watchers on this instance's calls are taken; try again later"]));
    // The master key and a gateway-wide admin key still watch: 4 and 4 more, the 32 in all.
    const kept = [...Array(4)].flatMap(() => [feed.watch("master", () => true, stop.signal, { master: true }).next(), feed.watch("ops", () => true, stop.signal).next()]);
    const full = await failure(feed.watch("ops-2", () => true, stop.signal).next());
    expect(full.rawMessage).toBe("32 watchers already follow this instance's calls; try again later");
    feed.close();
    for (const watch of kept) expect((await watch).done).toBe(true);
  });

  it("keeps places for the master key alone, however many gateway-wide admin keys watch", async () => {
    const feed = new CallFeed();
    const stop = new AbortController();
    // 8 read-only dashboard keys without a team, 4 streams each: the audit's F3, which took all 32 places.
    const refusals: string[] = [];
    for (let key = 1; key <= 8; key++) {
      for (let i = 0; i < 4; i++) feed.watch(`dash-${key}`, () => true, stop.signal).next().catch((err: unknown) => refusals.push(ConnectError.from(err).rawMessage));
    }
    await vi.waitFor(() => expect(refusals).toHaveLength(4));
    expect(new Set(refusals)).toEqual(new Set(["the 28 places for watchers other than the master key on this instance's calls are taken; try again later"]));
    // The master key still watches, with as many streams as any key may have.
    const master = [...Array(4)].map(() => feed.watch("master", () => true, stop.signal, { master: true }).next());
    const full = await failure(feed.watch("master", () => true, stop.signal, { master: true }).next());
    expect(full.rawMessage).toBe("32 watchers already follow this instance's calls; try again later");
    feed.close();
    for (const watch of master) expect((await watch).done).toBe(true);
  });

  it("refuses to keep every place, or more than there are", () => {
    expect(() => new CallFeed({ maxWatchers: 4, placesKeptForGatewayAdmins: 4 })).toThrow(RangeError);
    expect(() => new CallFeed({ maxWatchers: 4, placesKeptForGatewayAdmins: 3 })).not.toThrow();
    // The master key's places are some of those kept for keys without a team.
    expect(() => new CallFeed({ maxWatchers: 8, placesKeptForGatewayAdmins: 2, placesKeptForMasterKey: 3 })).toThrow(RangeError);
  });
});
