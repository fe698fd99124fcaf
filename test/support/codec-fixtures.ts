// What a codec's unit test needs besides the codec: its dialect's recorded
// vendor payloads (test/fixtures/<dialect>), and a stream decoder driven the
// way DialectAdapter drives it, with no server and no I/O.
import { readdirSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import type { Codec, StreamDecoder, StreamEvent, VendorRequest } from "../../src/providers/codec.js";
import type { ChatStreamEvent, DiscoveredModel } from "../../src/providers/provider.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";

export type Delta = Extract<ChatStreamEvent, { type: "delta" }>;
export type End = Extract<ChatStreamEvent, { type: "end" }>;

/** A recorded stream event; `data` is written as the JSON it carries, or as the text sent when that is not JSON. */
export interface RecordedEvent {
  event?: string;
  data: unknown;
}

/** One dialect's fixtures: a file by name (parsed JSON), or the names that start with a prefix. */
export function fixtureFolder(dialect: string): { read(name: string): any; named(prefix: string): string[] } {
  const folder = new URL(`../fixtures/${dialect}/`, import.meta.url);
  return {
    read: (name) => JSON.parse(readFileSync(new URL(name, folder), "utf8")),
    named: (prefix) => readdirSync(folder).filter((name) => name.startsWith(prefix) && name.endsWith(".json")).sort(),
  };
}

/** Feeds recorded events to a decoder as DialectAdapter does, until it is done; the deltas it made. */
export function feed(decoder: StreamDecoder, events: RecordedEvent[]): Delta[] {
  const deltas: Delta[] = [];
  feedInto(deltas, decoder, events);
  return deltas;
}

function feedInto(deltas: Delta[], decoder: StreamDecoder, events: RecordedEvent[]): void {
  for (const { event, data } of events) {
    const framed: StreamEvent = { event, data: typeof data === "string" ? data : JSON.stringify(data) };
    for (const out of decoder.next(framed)) deltas.push(out.type === "delta" ? out : expect.unreachable("an end event from next()"));
    if (decoder.done) break;
  }
}

/** A whole stream: its deltas, and the end event finish() gives. */
export function decode(decoder: StreamDecoder, events: RecordedEvent[]): { deltas: Delta[]; end: End } {
  const deltas = feed(decoder, events);
  return { deltas, end: decoder.finish() };
}

/** A stream that fails: the text that came before, and the error, thrown by next() (an error event) or by finish() (a stream cut short). */
export function streamFailure(decoder: StreamDecoder, events: RecordedEvent[]): { text: string; error: UpstreamError } {
  const deltas: Delta[] = [];
  const error = thrown(() => {
    feedInto(deltas, decoder, events);
    decoder.finish();
  });
  return { text: textOf(deltas), error };
}

/** Walks a codec's paged model list over recorded pages as DialectAdapter does: the requests it makes and the models it keeps. */
export function listModels(codec: Codec, pages: unknown[]): { requests: VendorRequest[]; models: DiscoveredModel[] } {
  const requests: VendorRequest[] = [];
  const models: DiscoveredModel[] = [];
  let pageToken: string | undefined;
  for (const page of pages) {
    requests.push(codec.modelsRequest!(pageToken));
    const list = codec.modelsResponse!(page);
    models.push(...list.models);
    pageToken = list.nextPageToken;
    if (!pageToken) break;
  }
  expect(pageToken, "a next page after the last recorded one").toBeUndefined();
  return { requests, models };
}

/** The text of some deltas. */
export function textOf(deltas: Delta[]): string {
  return deltas.map((delta) => delta.content).join("");
}

/** The tool calls a stream's fragments add up to, by index. */
export function assembled(deltas: Delta[]): { id: string; name: string; arguments: string }[] {
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const fragment of deltas.flatMap((delta) => delta.toolCalls)) {
    const call = (calls[fragment.index] ??= { id: "", name: "", arguments: "" });
    call.id ||= fragment.id;
    call.name ||= fragment.name;
    call.arguments += fragment.argumentsFragment;
  }
  return calls;
}

/** The UpstreamError a call throws. */
export function thrown(run: () => unknown): UpstreamError {
  try {
    run();
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  return expect.unreachable("no error was thrown");
}
