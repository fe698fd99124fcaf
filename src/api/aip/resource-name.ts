import { badRequest } from "../../common/bad-request.js";
import type { FieldViolations } from "./field-violations.js";

/** The `{variables}` of a pattern: "provider" | "credential" for "providers/{provider}/credentials/{credential}". */
type Variables<Pattern extends string> = Pattern extends `${string}{${infer Name}}${infer Rest}` ? Name | Variables<Rest> : never;

/** The ids a resource name holds, one a variable of its pattern. */
export type ResourceIds<Pattern extends string> = { [Name in Variables<Pattern>]: string };

/** AIP-122: one kind of resource name, formatted and parsed by its pattern. */
export interface ResourceName<Pattern extends string> {
  readonly pattern: Pattern;
  format(ids: ResourceIds<Pattern>): string;
  /** The ids a name holds; undefined, adding a violation to `field`, when it does not match the pattern. */
  read(name: string, field: string, violations: FieldViolations): ResourceIds<Pattern> | undefined;
  /** `read` for a name the rest of the request cannot do without: InvalidArgument at once. */
  require(name: string, field: string): ResourceIds<Pattern>;
}

export interface ResourceNameOptions<Pattern extends string> {
  /** What the resource is called in messages ("key", "credential"). */
  kind: string;
  /** A name to show in the message when one is wrong. */
  example?: string;
  /** What each variable may hold (unanchored). */
  ids: { [Name in Variables<Pattern>]: RegExp };
}

/**
 * `createResourceName("keys/{key}", { kind: "key", ids: { key: /[a-z][a-z0-9-]{2,62}/ } })`.
 * A wrong name is not repeated in the message: it may be a pasted secret, and
 * error messages are logged.
 */
export function createResourceName<Pattern extends string>(pattern: Pattern, options: ResourceNameOptions<Pattern>): ResourceName<Pattern> {
  const ids = options.ids as Record<string, RegExp>;
  // Each variable a named group: "keys/{key}" → /^keys\/(?<key>[a-z][a-z0-9-]{2,62})$/.
  const source = pattern
    .split(/(\{[a-z_]+\})/)
    .map((part) => (part.startsWith("{") ? `(?<${part.slice(1, -1)}>${ids[part.slice(1, -1)]!.source})` : part.replace(/[.*+?^$()|[\]\\/]/g, "\\$&")))
    .join("");
  const matcher = new RegExp(`^${source}$`);
  const problem = `must be a ${options.kind}'s resource name, "${pattern}"${options.example ? `, such as "${options.example}"` : ""}`;
  const parse = (name: string): ResourceIds<Pattern> | undefined => {
    const groups = matcher.exec(name)?.groups;
    return groups && ({ ...groups } as ResourceIds<Pattern>);
  };

  return {
    pattern,
    format: (values) => pattern.replace(/\{([a-z_]+)\}/g, (_, name: string) => (values as Record<string, string>)[name]!),
    read(name, field, violations) {
      const parsed = parse(name);
      if (!parsed) violations.add(field, problem);
      return parsed;
    },
    require(name, field) {
      const parsed = parse(name);
      if (!parsed) throw badRequest({ field, description: problem });
      return parsed;
    },
  };
}
