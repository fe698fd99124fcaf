// How many objects one request body may make its decoder build, counted in
// its bytes before any decoder runs (JSON: ./json-nesting.ts; protobuf:
// ../server/protobuf-object-count.ts). A decoder builds every object a body
// names before the services can count anything: an 8 MiB Chat body of 4.2
// million empty messages held the event loop for 5.4 s in protobuf-es (6.2 s
// as Connect JSON), and JSON.parse alone took 1.8 s over 8 MiB of `{},`.

/**
 * Objects a request may hold: protobuf messages (map entries, and Struct's
 * Values, included), or in JSON objects, arrays and object members. A call at
 * the services' own bounds counts under it: 10,000 messages holding 50,000
 * text parts and 512 real tool schemas count about 165,000 in JSON and
 * 100,000 in binary. Decoding 250,000 empty messages costs about 0.25 s,
 * what the largest real calls cost anyway.
 */
export const MAX_REQUEST_OBJECTS = 250_000;

/**
 * Values a request may hold: every field on the protobuf wire, or in JSON
 * about one per value (each object, array and comma). Scalars are cheap
 * alone but not by the million (4.2 million `1,` in a Struct's list:
 * 2.7 s); the largest real call is an Embed of 300,000 token ids.
 */
export const MAX_REQUEST_VALUES = 500_000;

/** Which count a body breaks. */
export type RequestExcess = "objects" | "values";

/** What a body past a bound is told, the same on every surface. */
export function tooManyProblem(excess: RequestExcess): string {
  return excess === "objects"
    ? `holds more than ${MAX_REQUEST_OBJECTS} objects (protobuf messages, or JSON objects, arrays and members), more than any call within the gateway's limits needs`
    : `holds more than ${MAX_REQUEST_VALUES} values (protobuf fields, or JSON values), more than any call within the gateway's limits needs`;
}
