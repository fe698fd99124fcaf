/** protobuf-es's words for a JSON request it could not decode: what failed ("message switchboard.v1.ChatRequest", a field, an enum), then why. */
const JSON_DECODE_FAILURE = /^(cannot decode .+? from JSON):? (.*)$/s;
/** JSON.parse's SyntaxError, as V8 words it: it quotes the text around the bad token ("PATIENT Jo"...). */
const NOT_JSON = /\bJSON\b/;
/** A value of the wrong kind ("expected string, got 123", "expected object but got …"): what was expected, not what came. */
const EXPECTED = /^(expected .+?),? (?:but )?got /s;
/** Why-clauses that quote nothing of the request. */
const WORDS_OF_ITS_OWN = /^(maximum recursion depth of \d+ reached|invalid RFC 3339 string|path names must be lowerCamelCase|"@type" is (empty|invalid)|must be from \S+ to \S+ inclusive)$/;

/**
 * An error message as the call's log line and span record it: a request
 * body that does not decode as JSON is told to its caller with the text
 * around the fault (JSON.parse quotes about ten characters of it,
 * protobuf-es the value it could not take), but that is the caller's
 * content, which telemetry never records ("Messages are never recorded"):
 * it is described instead. Any other message as it is.
 */
export function withoutRequestText(message: string): string {
  const failure = JSON_DECODE_FAILURE.exec(message);
  if (!failure) return message;
  const why = failure[2]!;
  if (WORDS_OF_ITS_OWN.test(why)) return message;
  const expected = EXPECTED.exec(why)?.[1];
  const described = expected ? `${expected}, got another value` : NOT_JSON.test(why) ? "the body is not valid JSON" : "a value it does not take";
  return `${failure[1]!}: ${described} (the request's text is in the caller's answer only)`;
}
