import { randomBytes } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { badRequest } from "../../common/bad-request.js";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { CallContext } from "../../gateway/call-context.js";
import type { Gateway } from "../../gateway/gateway.js";
import { UNBOUNDED_COMPLETION_TOKENS } from "../../gateway/usage-estimate.js";
import type { Logger } from "../../observability/logger.js";
import { toOpenAIError } from "../../providers/openai/errors.js";
import { responseEventJson, ResponseEventWriter, type ResponseEvent } from "../../providers/openai-responses/response-events.js";
import { toResponse, type ResponseHead } from "../../providers/openai-responses/response-object.js";
import { checkOutputsFollowCalls, responsesRequestFromOpenAI, type ResponsesRequest } from "../../providers/openai-responses/responses-request.js";
import { callSizeProblem, type CallSize } from "../../providers/call-size.js";
import { inputItemsPage, readInputItemsQuery } from "../../responses/input-items.js";
import type { StorageReservation } from "../../responses/key-storage-quota.js";
import { conversationSize, encodeConversation, storedAnswerBytes, type StoredResponses } from "../../responses/stored-responses.js";
import type { RestCall, RestRequest, RestResponse, RestSurface } from "../envelope/rest-envelope.js";
import { answerHeaders, cacheControlOf, drained, sendJson, streamHeaders, writeEventJson } from "../rest-answers.js";
import { validateChat } from "../validate.js";
import { OPENAI_RESPONSES } from "../../usage/recorded-surfaces.js";

const RESPONSE_PATH = "/v1/responses/";

/** On a whole answer its answer took past what one stored response may hold: answered, not stored (its Response says store: false). */
export const NOT_STORED_HEADER = "x-switchboard-not-stored";

export interface ResponsesSurfaceDeps {
  gateway: Gateway;
  stored: StoredResponses;
  /** For what a caller is told only in its Response (an answer too large to store). */
  logger: Logger;
}

/**
 * OpenAI's Responses API (`POST /v1/responses`; `GET` and `DELETE
 * /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`; `POST
 * /v1/responses/{id}/cancel`, refused), as the OpenAI SDKs, Codex and the
 * Agents SDK call it: any model behind the gateway answers, a conversation
 * continues from a stored response with `previous_response_id`, and a stored
 * response belongs to the key that made it (any other key gets 404). The
 * Responses module reads the requests and writes the answers; the pipeline
 * is the same as every surface's.
 */
export function createResponsesSurface(deps: ResponsesSurfaceDeps): RestSurface {
  const { stored } = deps;
  return {
    route(method, path) {
      if (method === "POST" && path === "/v1/responses") return { pattern: path, handle: (call) => createResponse(deps, call) };
      if (!path.startsWith(RESPONSE_PATH)) return undefined;
      const [id = "", action, ...more] = path.slice(RESPONSE_PATH.length).split("/");
      if (id === "" || more.length > 0) return undefined;
      const pattern = `${RESPONSE_PATH}{id}`;
      if (action === undefined && method === "GET") return { pattern, handle: (call) => retrieve(stored, id, call) };
      if (action === undefined && method === "DELETE") return { pattern, handle: (call) => remove(stored, id, call) };
      if (action === "input_items" && method === "GET") return { pattern: `${pattern}/input_items`, handle: (call) => listInputItems(stored, id, call) };
      if (action === "cancel" && method === "POST") return { pattern: `${pattern}/cancel`, takesNoBody: true, handle: (call) => cancel(stored, id, call) };
      return undefined;
    },
    writeError: writeResponsesError,
  };
}

async function createResponse(deps: ResponsesSurfaceDeps, call: RestCall): Promise<void> {
  const { gateway, stored } = deps;
  const parsed = responsesRequestFromOpenAI(call.body);
  const keyId = call.ctx.principal.keyId;
  const ctx: CallContext = { ...call.ctx, surface: OPENAI_RESPONSES };
  const previousId = parsed.previousResponseId;
  let previousBytes = 0;
  let previousSize: CallSize | undefined;
  if (previousId) {
    // The stored conversation is read and parsed only for a call its admission would not refuse at once (scope, a
    // spent budget; the envelope refused a key past its request rate before the body was read), and only once its
    // size is known to fit: its bytes, and its messages and blocks with this call's input.
    await gateway.precheck(parsed.stream ? "chat_stream" : "chat", parsed.request.model, ctx);
    const footprint = await stored.footprintOf(previousId, keyId);
    if (footprint === undefined) throw notFound(previousId, "previous_response_id");
    previousBytes = footprint.bytes;
    previousSize = footprint.size;
    if (previousSize) checkContinuationSize(previousSize, parsed.input);
  }
  // Room for the response this call will store, held until it is stored: what it continues, its input, what the Response repeats of the request, and its answer as expected.
  const reservation = parsed.store
    ? await stored.reserve(keyId, {
        previousBytes,
        requestBytes: Buffer.byteLength(encodeConversation(parsed.input)) + Buffer.byteLength(JSON.stringify(parsed.echo)),
        answerBytes: storedAnswerBytes(parsed.request.maxTokens ?? gateway.maxOutputTokens(parsed.request.model) ?? UNBOUNDED_COMPLETION_TOKENS),
      })
    : undefined;
  try {
    const previous = previousId ? await stored.get(previousId, keyId) : undefined;
    // Deleted, or expired, since its size was read.
    if (previousId && !previous) throw notFound(previousId, "previous_response_id");
    // One stored before its messages were counted is counted now, before the vendor is asked.
    if (previous && !previousSize) checkContinuationSize(conversationSize(previous.conversation), parsed.input);
    checkOutputsFollowCalls(previous?.conversation ?? [], parsed);
    await respond(deps, call, ctx, parsed, previous?.conversation ?? [], reservation);
  } finally {
    reservation?.release();
  }
}

/** Asks the gateway and answers, keeping the response (within the reservation) when the caller stores it. */
async function respond(
  { gateway, stored, logger }: ResponsesSurfaceDeps,
  { req, res }: RestCall,
  ctx: CallContext,
  parsed: ResponsesRequest,
  before: Message[],
  reservation: StorageReservation | undefined,
): Promise<void> {
  const keyId = ctx.principal.keyId;
  const request = parsed.request;
  request.messages = [...(parsed.instructions ? [parsed.instructions] : []), ...before, ...parsed.input];
  request.cacheControl = cacheControlOf(req);
  validateChat(request);
  const head: ResponseHead = { id: `resp_${randomBytes(16).toString("hex")}`, createdAt: Math.floor(Date.now() / 1000), model: request.model, echo: parsed.echo };
  /**
   * Keeps the response when the caller stores it: what a continuation starts
   * from (the conversation without its instructions, and the answer). One its
   * answer took past what one response may hold, or one the store did not
   * take, is not kept: the answer is paid for, so the caller gets it all the
   * same, its Response saying `store: false`, and the log says why. Why it
   * was not kept (the not-stored header's value); undefined when it was.
   */
  const keep = async (answer: Message, response: JsonObject): Promise<string | undefined> => {
    if (!parsed.store) return undefined;
    const outcome = await stored.put(head.id, keyId, { conversation: [...before, ...parsed.input, answer], response }, reservation);
    if (outcome.stored) return undefined;
    response.store = false;
    const said = { requestId: ctx.requestId, keyId, responseId: head.id };
    if (outcome.reason === "store_failed") {
      logger.error({ ...said, error: outcome.error }, "a response was answered but not stored: the store did not take it");
      return "store_unavailable";
    }
    logger.warn(
      { ...said, bytes: outcome.bytes, limitBytes: outcome.limitBytes },
      "a response was answered but not stored: its answer took it past what one stored response may hold (SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE)",
    );
    return outcome.reason;
  };
  if (!parsed.stream) {
    const answer = await gateway.chat(request, ctx);
    const response = toResponse(answer, { ...head, model: answer.model });
    const notStored = answer.message ? await keep(answer.message, response) : undefined;
    sendJson(res, response, { ...answerHeaders(answer), ...(notStored ? { [NOT_STORED_HEADER]: notStored } : {}) });
    return;
  }
  // The writer keeps the whole answer (its last events repeat it): the gateway bounds it.
  const streamed = await gateway.chatStream(request, ctx, { keepsAnswer: true });
  let writer: ResponseEventWriter | undefined;
  /** Writes the events; false when the client is not keeping up, and the stream must wait for it (rest-answers.ts, drained). */
  const write = (events: ResponseEvent[]): boolean => {
    let flowing = true;
    for (const out of events) flowing = writeEventJson(res, responseEventJson(out), out.event) && flowing;
    return flowing;
  };
  try {
    for await (const event of streamed.responses) {
      let flowing = true;
      if (!writer) {
        // The serving model is known with the first event: the Response names it as a unary one does.
        writer = new ResponseEventWriter({ ...head, model: streamed.servingModel() ?? head.model });
        res.writeHead(200, streamHeaders(streamed));
        flowing = write(writer.start());
      }
      if (event.event.case === "delta") flowing = write(writer.delta(event.event.value)) && flowing;
      else if (event.event.case === "summary") {
        const end = writer.finish(event.event.value);
        // Kept before the caller hears the response is complete, so that it can go on from it at once. The last
        // event carries `end.response` itself: one not kept says store: false there (the headers went out long ago).
        await keep(end.message, end.response);
        flowing = write(end.events) && flowing;
      }
      if (!flowing) await drained(res, ctx.signal);
    }
  } catch (err) {
    // Once the stream has begun, the failure is its last events (`error`, `response.failed`), numbered in turn.
    if (writer && res.headersSent && !res.writableEnded) write(writer.fail(toOpenAIError(ConnectError.from(err)).body));
    throw err;
  }
  res.end();
}

async function retrieve(stored: StoredResponses, id: string, { req, ctx, res }: RestCall): Promise<void> {
  const stream = queryOf(req).get("stream");
  // What is stored is the Response, not the events that streamed it. Answered as JSON, a client asking for a stream would read no events and no error.
  if (stream !== null && stream !== "false") throw badRequest({ field: "stream", description: "a stored response cannot be streamed again: retrieve it without stream, as one Response" });
  const response = await stored.response(id, ctx.principal.keyId);
  if (!response) throw notFound(id, "id");
  sendJson(res, response);
}

async function listInputItems(stored: StoredResponses, id: string, { req, ctx, res }: RestCall): Promise<void> {
  const query = readInputItemsQuery(queryOf(req));
  const listing = await stored.listing(id, ctx.principal.keyId);
  // The stored conversation ends with the response's answer (see `keep`): what comes before it is what the response was answered from.
  const page = listing && (await inputItemsPage(id, { itemCounts: listing.itemCounts.slice(0, -1), messages: (indices) => listing.messages(indices) }, query));
  // Deleted, or expired, since its index was read: as if it had never been.
  if (!page) throw notFound(id, "id");
  sendJson(res, page);
}

async function remove(stored: StoredResponses, id: string, { ctx, res }: RestCall): Promise<void> {
  if (!(await stored.delete(id, ctx.principal.keyId))) throw notFound(id, "id");
  sendJson(res, { id, object: "response", deleted: true });
}

/** The query string of a request. */
function queryOf(req: RestRequest): URLSearchParams {
  const url = req.url ?? "";
  const mark = url.indexOf("?");
  return new URLSearchParams(mark === -1 ? "" : url.slice(mark + 1));
}

/** A response of this key is refused (see notCancellable); any other id is not found, as GET answers it. */
async function cancel(stored: StoredResponses, id: string, { ctx }: RestCall): Promise<void> {
  // Whether it is stored is all that is asked: neither its Response nor its conversation is read.
  if (!(await stored.holds(id, ctx.principal.keyId))) throw notFound(id, "id");
  throw notCancellable(id);
}

/** Every response is complete when the call that made it returns (background responses are refused): there is nothing to cancel. */
function notCancellable(id: string): ConnectError {
  return gatewayError(
    Code.FailedPrecondition,
    `response "${excerpt(id)}" cannot be cancelled: it is not a background response (none is: background responses are not supported), so it was complete when the call that made it returned (end a stream by closing it)`,
    "RESPONSE_NOT_CANCELLABLE",
    { response: excerpt(id) },
  );
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
function notFound(id: string, field: string): ConnectError {
  return gatewayError(Code.NotFound, `${field}: no response "${excerpt(id)}" is stored for this key (responses are kept with store: true, for a limited time; one too large to keep was answered with store: false)`, "RESPONSE_NOT_FOUND", { response: excerpt(id) });
}

/** A failure as the OpenAI SDKs read it (a stream that had begun ended with it already). */
function writeResponsesError(res: RestResponse, error: ConnectError): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const { status, headers, body } = toOpenAIError(error);
  res.writeHead(status, headers).end(JSON.stringify(body));
}
