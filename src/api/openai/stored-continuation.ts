// What `previous_response_id` continues, read for a call that names it
// (`POST /v1/responses`, `POST /v1/responses/input_tokens`): sized before it
// is read, refused when the key stores no such response, and checked with
// the call's input as one call would be.
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { badRequest } from "../../common/bad-request.js";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError } from "../../common/gateway-error.js";
import { callSizeProblem, type CallSize } from "../../providers/call-size.js";
import { checkOutputsFollowCalls, type ResponsesRequest } from "../../providers/openai-responses/responses-request.js";
import { conversationSize, type StoredFootprint, type StoredResponses } from "../../responses/stored-responses.js";

/**
 * The size of the response `previousId` names, when this key stores it: 404
 * otherwise. A continuation past what one call may hold is refused here,
 * before its conversation is read.
 */
export async function continuationFootprint(stored: StoredResponses, previousId: string, keyId: string, input: readonly Message[]): Promise<StoredFootprint> {
  const footprint = await stored.footprintOf(previousId, keyId);
  if (footprint === undefined) throw responseNotFound(previousId, "previous_response_id");
  if (footprint.size) checkContinuationSize(footprint.size, input);
  return footprint;
}

/**
 * The stored conversation the call continues (none without
 * `previousId`), its input's function outputs checked against the calls
 * before them. `sized` is the footprint's size, when it was counted: one
 * stored before its messages were counted is counted now.
 */
export async function continuedConversation(
  stored: StoredResponses,
  previousId: string | undefined,
  keyId: string,
  parsed: Pick<ResponsesRequest, "input" | "callIdFields">,
  sized: CallSize | undefined,
): Promise<Message[]> {
  const previous = previousId ? await stored.get(previousId, keyId) : undefined;
  // Deleted, or expired, since its size was read.
  if (previousId && !previous) throw responseNotFound(previousId, "previous_response_id");
  if (previous && !sized) checkContinuationSize(conversationSize(previous.conversation), parsed.input);
  checkOutputsFollowCalls(previous?.conversation ?? [], parsed);
  return previous?.conversation ?? [];
}

/**
 * Refuses a continuation whose stored conversation and input together are
 * past what one call may hold (call-size.ts), as a call sending them all
 * would be: each message and block costs the gateway work before the call is
 * admitted, whichever way it came.
 */
function checkContinuationSize(stored: CallSize, input: readonly Message[]): void {
  const inputSize = conversationSize(input);
  const problem = callSizeProblem({ messages: stored.messages + inputSize.messages, blocks: stored.blocks + inputSize.blocks }, "messages");
  if (!problem) return;
  throw badRequest({
    field: "previous_response_id",
    description: `the conversation it continues, with this call's input, is past what one call may hold (${problem}): start a new conversation (send its input without previous_response_id, compacted)`,
  });
}

/** A response of another key, expired or never made is alike: 404. */
export function responseNotFound(id: string, field: string): ConnectError {
  return gatewayError(Code.NotFound, `${field}: no response "${excerpt(id)}" is stored for this key (responses are kept with store: true, for a limited time; one too large to keep was answered with store: false)`, "RESPONSE_NOT_FOUND", { response: excerpt(id) });
}
