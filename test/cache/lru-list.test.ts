import { describe, expect, it } from "vitest";
import { LruList, type LruNode } from "../../src/cache/lru-list.js";

interface Named extends LruNode<Named> {
  name: string;
}

const named = (name: string): Named => ({ name, prev: undefined, next: undefined });
const names = (list: LruList<Named>) => [...list].map(({ name }) => name);

describe("LruList", () => {
  it("keeps the least recently used first through pushes, touches and removals", () => {
    const list = new LruList<Named>();
    const [a, b, c] = [named("a"), named("b"), named("c")];
    for (const node of [a, b, c]) list.push(node);
    list.touch(a);
    expect([names(list), list.oldest?.name, list.size]).toEqual([["b", "c", "a"], "b", 3]);
    list.touch(a); // already the most recent
    list.remove(c);
    list.remove(b);
    expect([names(list), list.oldest?.name, list.size]).toEqual([["a"], "a", 1]);
    list.remove(a);
    expect([names(list), list.oldest, list.size]).toEqual([[], undefined, 0]);
    list.push(b); // a node removed may join again
    expect(names(list)).toEqual(["b"]);
  });

  it("goes on past the node it just gave when that node is removed", () => {
    const list = new LruList<Named>();
    for (const name of ["a", "b", "c", "d"]) list.push(named(name));
    const seen: string[] = [];
    for (const node of list) {
      seen.push(node.name);
      if (node.name !== "c") list.remove(node);
    }
    expect([seen, names(list)]).toEqual([["a", "b", "c", "d"], ["c"]]);
  });
});
