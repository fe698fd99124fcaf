// protobuf-es, told to ignore unknown fields (as connect-es tells it for every
// JSON request), also drops an enum field whose name it does not know: a
// typo'd or newer `"effort":"REASONING_EFFORT_ULTRA"` would reach the service
// as "unset", while the same value as a number (99) is refused there. This
// refuses unknown names before the body is decoded, as InvalidArgument with
// BadRequest naming each field: unknown fields are still ignored.
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { excerpt } from "../common/excerpt.js";
import { FieldViolations } from "../api/aip/field-violations.js";

/** A field that holds enum values, itself or in the messages it holds. */
interface EnumField {
  /** Its proto name, as BadRequest paths name fields ("reasoning.effort", "messages[0].role"). */
  name: string;
  /** The keys protobuf-es reads it from: its JSON name and its proto name. */
  keys: readonly string[];
  container: "single" | "list" | "map";
  /** The enum it holds, or the message that holds enums. */
  type: { enum: DescEnum; names: ReadonlySet<string> } | { message: DescMessage };
}

/** Per message: its fields that hold enum values; empty when none does (the walk then costs nothing). */
const plans = new WeakMap<DescMessage, readonly EnumField[]>();

/**
 * Refuses a JSON request (as JSON.parse made it) that names an enum value
 * `desc` does not have, in any field, however nested (lists, maps, oneofs,
 * messages): InvalidArgument, ErrorInfo INVALID_ARGUMENT, and a BadRequest
 * violation per field. Values of the wrong type are left to protobuf-es.
 */
export function refuseUnknownEnumNames(desc: DescMessage, json: unknown): void {
  if (planOf(desc).length === 0) return;
  const walker = new Walker();
  walker.walk(desc, json);
  walker.violations?.throwIfAny();
}

/** Whether `desc` holds enum values anywhere: only then is a JSON body of it worth walking. */
export function holdsEnums(desc: DescMessage): boolean {
  return planOf(desc).length > 0;
}

/** A walk over one request: the path to where it is (built into a name only for a violation), and what it found. */
class Walker {
  violations: FieldViolations | undefined;
  /** Field names, list indexes and map keys down to the value at hand. */
  private readonly path: (string | number)[] = [];

  walk(desc: DescMessage, json: unknown): void {
    if (typeof json !== "object" || json === null || Array.isArray(json)) return;
    const object = json as Record<string, unknown>;
    for (const field of planOf(desc)) {
      for (const key of field.keys) {
        if (!Object.hasOwn(object, key)) continue;
        const value = object[key];
        this.path.push(field.name);
        if (field.container === "single") this.check(field, value);
        else if (field.container === "list" && Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            this.path.push(i);
            this.check(field, value[i]);
            this.path.pop();
          }
        } else if (field.container === "map" && typeof value === "object" && value !== null && !Array.isArray(value)) {
          for (const [mapKey, item] of Object.entries(value)) {
            this.path.push(JSON.stringify(excerpt(mapKey)));
            this.check(field, item);
            this.path.pop();
          }
        }
        this.path.pop();
      }
    }
  }

  private check(field: EnumField, value: unknown): void {
    if ("message" in field.type) this.walk(field.type.message, value);
    // protobuf-es takes a name or an integer (and null): only a name it does not know is dropped.
    else if (typeof value === "string" && !field.type.names.has(value)) (this.violations ??= new FieldViolations()).add(this.pathName(), unknownName(field.type.enum, value));
  }

  /** "messages[1].role", 'labels["a"]': fields by proto name, as validate.ts names them. */
  private pathName(): string {
    let name = "";
    for (const part of this.path) {
      if (typeof part === "number" || part.startsWith('"')) name += `[${part}]`;
      else name += name ? `.${part}` : part;
    }
    return name;
  }
}

/** An enum-like name is quoted; other text (it may be anything a caller pasted, a key among them) is not repeated. */
const ENUM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

function unknownName(desc: DescEnum, value: string): string {
  const names = desc.values.map((v) => v.name);
  if (!ENUM_NAME.test(value)) return `the value is not a ${desc.typeName} (one of ${names.join(", ")}, or its number)`;
  // Callers coming from the REST dialects write "user", "auto", "high": the name they meant, said outright.
  const short = value.toLowerCase();
  const meant = names.find((name) => name.toLowerCase().endsWith(`_${short}`));
  if (meant) return `"${value}" is not a ${desc.typeName}: write ${meant} (one of ${names.join(", ")}, or its number)`;
  return `"${value}" is not a ${desc.typeName} (one of ${names.join(", ")}, or its number)`;
}

/** The JSON forms of google.protobuf's own types (Struct, Value, Any, Timestamp, …) are not their fields: never walked. */
function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

function planOf(desc: DescMessage): readonly EnumField[] {
  const known = plans.get(desc);
  if (known) return known;
  // Messages may nest one another (in cycles): which of all those reachable hold enums, settled together.
  const reachable = new Set<DescMessage>();
  const visit = (message: DescMessage) => {
    if (reachable.has(message) || isWellKnown(message)) return;
    reachable.add(message);
    for (const field of message.fields) if (field.message) visit(field.message);
  };
  visit(desc);
  const holds = new Set<DescMessage>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const message of reachable) {
      if (holds.has(message)) continue;
      if (message.fields.some((field) => field.enum !== undefined || (field.message !== undefined && holds.has(field.message)))) {
        holds.add(message);
        changed = true;
      }
    }
  }
  for (const message of reachable) if (!plans.has(message)) plans.set(message, holds.has(message) ? enumFields(message, holds) : []);
  return plans.get(desc) ?? [];
}

function enumFields(message: DescMessage, holds: ReadonlySet<DescMessage>): EnumField[] {
  const fields: EnumField[] = [];
  for (const field of message.fields) {
    const type = typeOf(field, holds);
    if (!type) continue;
    const container = field.fieldKind === "list" ? "list" : field.fieldKind === "map" ? "map" : "single";
    fields.push({ name: field.name, keys: field.jsonName === field.name ? [field.name] : [field.jsonName, field.name], container, type });
  }
  return fields;
}

function typeOf(field: DescField, holds: ReadonlySet<DescMessage>): EnumField["type"] | undefined {
  if (field.enum) return { enum: field.enum, names: new Set(field.enum.values.map((v) => v.name)) };
  if (field.message && holds.has(field.message)) return { message: field.message };
  return undefined;
}
