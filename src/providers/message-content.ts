// Translation helpers shared by the dialects whose wire formats are not OpenAI's.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ToolCall } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../common/json-nesting.js";
import { UpstreamError } from "./upstream-error.js";

/** Splits `data:image/png;base64,AAAA` into its media type and base64 payload; undefined for other URLs. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1]!, data: match[2]! } : undefined;
}

/**
 * A tool call's arguments as the JSON object that vendors with structured
 * inputs (Anthropic `input`, Gemini `args`) require. Arguments that are not
 * an object would be rejected upstream anyway, so the caller hears it here.
 * Nor are they parsed when they nest past MAX_JSON_DEPTH (the surfaces refuse
 * such arguments first, naming the field): the request to the vendor could
 * not be written.
 */
export function toolArgumentsObject(provider: string, call: ToolCall): JsonObject {
  if (call.arguments.trim() === "") return {};
  if (jsonNestsDeeperThan(call.arguments, MAX_JSON_DEPTH)) {
    throw new UpstreamError({
      kind: "bad_request",
      provider,
      message: `provider "${provider}" is sent tool call arguments as a JSON object; those of call "${call.id}" (${call.name}) nest objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.arguments);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UpstreamError({
      kind: "bad_request",
      provider,
      message: `provider "${provider}" needs tool call arguments as a JSON object; those of call "${call.id}" (${call.name}) are not`,
    });
  }
  return parsed as JsonObject;
}

/**
 * A tool's output for vendors that take structured results: parsed when it
 * is JSON, the text otherwise. An output is any text the tool wrote, so JSON
 * nested past MAX_JSON_DEPTH is no error: it goes as the text.
 */
export function toolResultValue(text: string): JsonObject[string] {
  const trimmed = text.trim();
  if ((trimmed.startsWith("{") || trimmed.startsWith("[")) && !jsonNestsDeeperThan(trimmed, MAX_JSON_DEPTH)) {
    try {
      return JSON.parse(trimmed) as JsonObject[string];
    } catch {
      // Not JSON after all: pass the text.
    }
  }
  return text;
}

/** A JSON object to merge into, or an empty one when the value is not an object (vendor_options may hold anything). */
export function asObject(value: JsonValue | undefined): JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}

export interface Turn<R extends string, B> {
  role: R;
  blocks: B[];
}

/** Joins consecutive turns of the same role, for vendors that want user and model turns to alternate. */
export function mergeTurns<R extends string, B>(turns: Turn<R, B>[]): Turn<R, B>[] {
  const merged: Turn<R, B>[] = [];
  for (const turn of turns) {
    const last = merged[merged.length - 1];
    if (last && last.role === turn.role) last.blocks.push(...turn.blocks);
    else merged.push({ role: turn.role, blocks: [...turn.blocks] });
  }
  return merged;
}
