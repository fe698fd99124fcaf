import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Gateway } from "../../gateway/gateway.js";
import { estimatedUsage } from "../../gateway/usage-estimate.js";
import { putConversation, responsesRequestFromOpenAI } from "../../providers/openai-responses/responses-request.js";
import type { StoredResponses } from "../../responses/stored-responses.js";
import { OPENAI_RESPONSES } from "../../usage/recorded-surfaces.js";
import type { RestCall } from "../envelope/rest-envelope.js";
import { sendJson } from "../rest-answers.js";
import { validateChat } from "../validate.js";
import { continuationFootprint, continuedConversation } from "./stored-continuation.js";

/**
 * `POST /v1/responses/input_tokens` (the OpenAI SDKs'
 * `responses.inputTokens.count`): the body a `POST /v1/responses` would
 * send, counted by the gateway's own estimate, as `/v1/messages/count_tokens`
 * counts (about four characters a token, the rule its rate limits use). No
 * vendor is asked, nothing is charged and no tokens are taken, but the model
 * must be one the key's scope lets it call (a refusal leaves its ledger row,
 * as count_tokens's does). Like every call, it was counted against the key's
 * requests per minute before its body was read (the key gate), not here.
 * With `previous_response_id`, the stored conversation it continues (this
 * key's) is counted too, as the call would send it.
 */
export async function countInputTokens({ gateway, stored }: { gateway: Gateway; stored: StoredResponses }, { ctx, body, res }: RestCall): Promise<void> {
  const parsed = responsesRequestFromOpenAI(body);
  const { request } = parsed;
  const call = { ...ctx, surface: OPENAI_RESPONSES };
  const previousId = parsed.previousResponseId;
  // A stored conversation is read only for a key its scope lets call the model, as a call continuing it is.
  if (previousId) await gateway.admitUncharged(request.model, call);
  const footprint = previousId ? await continuationFootprint(stored, previousId, call.principal.keyId, parsed.input) : undefined;
  const before: Message[] = await continuedConversation(stored, previousId, call.principal.keyId, parsed, footprint?.size);
  putConversation(parsed, before);
  validateChat(request);
  if (!previousId) await gateway.admitUncharged(request.model, call);
  // The estimate counts the tools' schemas and the images as the prompt of a charged call does.
  sendJson(res, { object: "response.input_tokens", input_tokens: estimatedUsage(request, 0).promptTokens });
}
