import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { badRequest } from "../../common/bad-request.js";

/**
 * How a decoder reads loosely typed JSON. The OpenAI dialect is read twice
 * over: in requests from callers (where a wrong type is the caller's error,
 * named by its field) and in answers from vendors (where the many
 * OpenAI-compatible servers differ in what they leave out, and a missing or
 * null field takes its default; a wrong type is the vendor's bad_response).
 * One decoder, written once, takes either.
 */
export interface JsonReader {
  /** A string; "" for null or absent. */
  string(value: unknown, field: string): string;
  /** A number, or undefined for null or absent. */
  number(value: unknown, field: string): number | undefined;
  /** true or false, or undefined for null or absent (`"yes"` is no boolean). */
  boolean(value: unknown, field: string): boolean | undefined;
  /** An object; {} for null or absent, unless `required`. */
  object(value: unknown, field: string, required?: boolean): JsonObject;
  /** An array; [] for null or absent. */
  array(value: unknown, field: string): JsonValue[];
  /** A value the decoder cannot take (an unknown role or part type). */
  reject(field: string, problem: string): never;
}

const absent = (value: unknown): boolean => value === undefined || value === null;

/** Callers' requests: anything of the wrong type is InvalidArgument naming the field. */
export const strictReader: JsonReader = {
  string(value, field) {
    if (absent(value)) return "";
    if (typeof value !== "string") throw invalid(field, "must be a string");
    return value;
  },
  number(value, field) {
    if (absent(value)) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(field, "must be a number");
    return value;
  },
  boolean(value, field) {
    if (absent(value)) return undefined;
    if (typeof value !== "boolean") throw invalid(field, "must be true or false");
    return value;
  },
  object(value, field, required = false) {
    if (absent(value) && !required) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, "must be an object");
    return value as JsonObject;
  },
  array(value, field) {
    if (absent(value)) return [];
    if (!Array.isArray(value)) throw invalid(field, "must be an array");
    return value as JsonValue[];
  },
  reject(field, problem) {
    throw invalid(field, problem);
  },
};

/**
 * Vendors' answers: a null or absent field takes its default (the many
 * OpenAI-compatible servers differ in what they leave out), but a present
 * field of the wrong type, or a required object that is missing, is the
 * vendor breaking its contract: `reject`, given by the caller since it is
 * the vendor's fault (bad_response), never the caller's. Reading it as
 * absent would pass a cut answer off as whole, as the stream decoder knows
 * (vendor-fields.ts).
 */
export function lenientReader(reject: (field: string, problem: string) => never): JsonReader {
  return {
    string(value, field) {
      if (absent(value)) return "";
      return typeof value === "string" ? value : reject(field, "is not a string");
    },
    number(value, field) {
      if (absent(value)) return undefined;
      return typeof value === "number" && Number.isFinite(value) ? value : reject(field, "is not a number");
    },
    boolean(value, field) {
      if (absent(value)) return undefined;
      return typeof value === "boolean" ? value : reject(field, "is not true or false");
    },
    object(value, field, required = false) {
      if (absent(value)) return required ? reject(field, "is missing") : {};
      return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : reject(field, "is not an object");
    },
    array(value, field) {
      if (absent(value)) return [];
      return Array.isArray(value) ? (value as JsonValue[]) : reject(field, "is not an array");
    },
    reject,
  };
}

function invalid(field: string, description: string) {
  return badRequest({ field, description });
}
