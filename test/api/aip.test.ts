import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { readUpdateMask } from "../../src/api/aip/field-mask.js";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { parseFilter } from "../../src/api/aip/filter.js";
import { createPageTokenCodec, readPageSize } from "../../src/api/aip/pagination.js";
import { createResourceName } from "../../src/api/aip/resource-name.js";

/** What `throwIfAny` threw, or undefined when it did not. */
function thrown(violations: FieldViolations): ConnectError | undefined {
  try {
    violations.throwIfAny();
  } catch (err) {
    return err as ConnectError;
  }
  return undefined;
}

describe("FieldViolations", () => {
  it("throws nothing while no field is wrong", () => {
    expect(thrown(new FieldViolations())).toBeUndefined();
  });

  it("raises every violation as one InvalidArgument with BadRequest and ErrorInfo INVALID_ARGUMENT", () => {
    const v = new FieldViolations();
    v.add("model", "is required");
    v.add("messages[0].role", "is required");
    const err = thrown(v)!;
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("model: is required; messages[0].role: is required");
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map(({ field, description }) => ({ field, description }))).toEqual([
      { field: "model", description: "is required" },
      { field: "messages[0].role", description: "is required" },
    ]);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
  });
});

describe("page tokens", () => {
  const isPosition = (value: unknown): value is [number, string] => Array.isArray(value) && typeof value[0] === "number" && typeof value[1] === "string";
  const pages = createPageTokenCodec("ListThings", isPosition);
  const decode = (codec: typeof pages, token: string) => {
    const v = new FieldViolations();
    return { position: codec.decode(token, v), error: thrown(v) };
  };

  it("gives back the position it encoded, in a token opaque to the caller", () => {
    const token = pages.encode([1700000000000, "thing-1"]);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("thing-1");
    expect(decode(pages, token)).toEqual({ position: [1700000000000, "thing-1"], error: undefined });
  });

  it("reads no token as the first page", () => {
    expect(decode(pages, "")).toEqual({ position: undefined, error: undefined });
  });

  it("refuses, naming page_token, a token it did not issue", () => {
    const otherList = createPageTokenCodec("ListOthers", isPosition).encode([1, "x"]);
    const wrongShape = Buffer.from(JSON.stringify(["ListThings", { id: "x" }])).toString("base64url");
    const notJson = Buffer.from("after:x").toString("base64url");
    const token = pages.encode([1, "x"]);
    for (const bad of [otherList, wrongShape, notJson, token.slice(0, -3), `${token}!`, "%%%", "A".repeat(5000)]) {
      const { position, error } = decode(pages, bad);
      expect(position).toBeUndefined();
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("page_token");
      expect(error?.rawMessage).toBe("page_token: is not a token from a previous ListThings response");
    }
  });

  it("takes 0 as the default page size, caps it, and refuses a negative one", () => {
    const sizes = { default: 50, max: 1000 };
    const v = new FieldViolations();
    expect([0, 7, 5000].map((size) => readPageSize(size, sizes, v))).toEqual([50, 7, 1000]);
    expect(thrown(v)).toBeUndefined();
    readPageSize(-1, sizes, v);
    expect(thrown(v)?.rawMessage).toBe("page_size: must not be negative");
  });
});

describe("resource names", () => {
  const credential = createResourceName("providers/{provider}/credentials/{credential}", {
    kind: "credential",
    example: "providers/openai/credentials/primary",
    ids: { provider: /[a-z]+/, credential: /[a-z0-9@.]+/ },
  });

  it("formats and parses by the pattern", () => {
    const name = credential.format({ provider: "openai", credential: "primary@v3" });
    expect(name).toBe("providers/openai/credentials/primary@v3");
    expect(credential.require(name, "name")).toEqual({ provider: "openai", credential: "primary@v3" });
  });

  it("refuses a name that does not match, without repeating it", () => {
    const v = new FieldViolations();
    for (const name of ["openai/primary", "providers/openai/credentials/", "providers/Open/credentials/x", "providers/openai/credentials/x/y"]) {
      expect(credential.read(name, "name", v)).toBeUndefined();
    }
    const err = thrown(v)!;
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations).toHaveLength(4);
    expect(err.rawMessage).not.toContain("openai/primary");
    expect(() => credential.require("sk-secret", "name")).toThrow(
      'name: must be a credential\'s resource name, "providers/{provider}/credentials/{credential}", such as "providers/openai/credentials/primary"',
    );
  });
});

describe("filters", () => {
  it("reads equalities joined by AND, quoted or bare", () => {
    const v = new FieldViolations();
    expect(parseFilter('team = "pay ments" AND admin=true', ["team", "admin"], "…", v)).toEqual([
      { field: "team", value: "pay ments" },
      { field: "admin", value: "true" },
    ]);
    expect(parseFilter("  ", ["team"], "…", v)).toEqual([]);
    expect(thrown(v)).toBeUndefined();
  });

  it("says what it takes when a clause is not one it reads", () => {
    const v = new FieldViolations();
    parseFilter("colour = blue", ["team"], 'team = "…"', v);
    expect(thrown(v)?.rawMessage).toBe('filter: cannot read "colour = blue": use team = "…", joined by AND');
  });
});

describe("update masks", () => {
  const updatable = { paths: ["name", "size", "size.max"], all: ["name", "size"], aliases: { length: "size" } } as const;
  const read = (paths: string[] | undefined, implied: ("name" | "size" | "size.max")[] = []) => {
    const v = new FieldViolations();
    const result = readUpdateMask(paths && create(FieldMaskSchema, { paths }), implied, updatable, v);
    return { result, error: thrown(v)?.rawMessage };
  };

  it("takes the mask's paths, aliases and '*', or without a mask the fields the request sets", () => {
    expect(read(["size.max", "length"])).toEqual({ result: ["size.max", "size"], error: undefined });
    expect(read(["*"])).toEqual({ result: ["name", "size"], error: undefined });
    expect(read(undefined, ["name"])).toEqual({ result: ["name"], error: undefined });
  });

  it("refuses a path that cannot change, and a mask naming none", () => {
    expect(read(["digest", "constructor"]).error).toBe(
      'update_mask: "digest" cannot be changed (changeable: name, size, size.max); update_mask: "constructor" cannot be changed (changeable: name, size, size.max)',
    );
    expect(read([]).error).toBe("update_mask: names no field to change");
  });
});
