// The Responses API's fields that reach state OpenAI keeps (a stored response,
// conversation or prompt) or leave the answer running at OpenAI (background).
// The gateway sends every conversation whole and never stores at a vendor: its
// shared account holds other callers' stored state, and what a stored
// conversation adds to the prompt is billed past what the call reserved. Refused
// wherever a caller can write them: `vendor_options` and the caller's own fields
// of `/v1/chat/completions` (validate.ts), and `/v1/responses`
// (responses-request.ts), where `previous_response_id` is the gateway's own.

/** Unset or null: the field asks for nothing. */
function unset(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Why each field is refused, or undefined when its value asks for nothing. */
export const VENDOR_STATE_FIELDS: Record<string, (value: unknown) => string | undefined> = {
  previous_response_id: (id) =>
    unset(id) ? undefined : "responses stored at the vendor are not supported: send the whole conversation (on /v1/responses, previous_response_id continues a response the gateway stored)",
  conversation: (conversation) => (unset(conversation) ? undefined : "conversations are not supported: send the whole conversation (on /v1/responses, previous_response_id, or the whole input)"),
  prompt: (prompt) => (unset(prompt) ? undefined : "stored prompts are not supported: send the instructions and input themselves"),
  background: (on) => (unset(on) || on === false ? undefined : "background responses are not supported: stream the response instead"),
};
