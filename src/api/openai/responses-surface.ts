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
import { putConversation, responsesRequestFromOpenAI, type ResponsesRequest } from "../../providers/openai-responses/responses-request.js";
import { inputItemsPage, readInputItemsQuery } from "../../responses/input-items.js";
import type { StorageReservation } from "../../responses/key-storage-quota.js";
import { encodeConversation, storedAnswerBytes, type StoredFootprint, type StoredResponses } from "../../responses/stored-responses.js";
import type { RestCall, RestRequest, RestResponse, RestSurface } from "../envelope/rest-envelope.js";
import { answerHeaders, cacheControlOf, drained, sendJson, streamHeaders, writeEventJson } from "../rest-answers.js";
import { TurnWrites } from "../../server/turn-writes.js";
import { validateChat } from "../validate.js";
import { OPENAI_RESPONSES } from "../../usage/recorded-surfaces.js";
import { countInputTokens } from "./responses-input-tokens.js";
import { continuationFootprint, continuedConversation, responseNotFound } from "./stored-continuation.js";

const RESPONSE_PATH = "/v1/responses/";
const INPUT_TOKENS_PATH = "/v1/responses/input_tokens";
const COMPACT_PATH = "/v1/responses/compact";
/** The words after /v1/responses/ that name an endpoint of OpenAI's (the SDKs' `responses.inputTokens.count`, `responses.compact`), never an id. */
const ENDPOINT_WORDS = new Set(["input_tokens", "compact"]);
/** What the gateway names its stored responses (`resp_` and hex), as OpenAI does: a POST to any other word is an endpoint, never an id. */
const RESPONSE_ID = /^resp_/;

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
 * /v1/responses/input_tokens`; `POST /v1/responses/{id}/cancel` and `POST
 * /v1/responses/compact`, refused), as the OpenAI SDKs, Codex and the
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
      if (method === "POST" && path === INPUT_TOKENS_PATH) return { pattern: path, handle: (call) => countInputTokens(deps, call) };
      if (method === "POST" && path === COMPACT_PATH) return { pattern: path, takesNoBody: true, handle: () => Promise.reject(compactNotServed()) };
      if (!path.startsWith(RESPONSE_PATH)) return undefined;
      const [id = "", action, ...more] = path.slice(RESPONSE_PATH.length).split("/");
      if (id === "" || more.length > 0 || ENDPOINT_WORDS.has(id)) return undefined;
      // A POST to /v1/responses/{word} asks for an endpoint: one the gateway does not have is not found (not a method refused for an id).
      if (method === "POST" && action === undefined && !RESPONSE_ID.test(id)) {
        return { pattern: `${RESPONSE_PATH}{endpoint}`, takesNoBody: true, handle: () => Promise.reject(noSuchEndpoint(path)) };
      }
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
  let footprint: StoredFootprint | undefined;
  if (previousId) {
    // The stored conversation is read and parsed only for a call its admission would not refuse at once (scope, a
    // spent budget; the envelope refused a key past its request rate before the body was read), and only once its
    // size is known to fit: its bytes, and its messages and blocks with this call's input.
    await gateway.precheck(parsed.stream ? "chat_stream" : "chat", parsed.request.model, ctx);
    footprint = await continuationFootprint(stored, previousId, keyId, parsed.input);
  }
  // Room for the response this call will store, held until it is stored: what it continues, its input, what the Response repeats of the request, and its answer as expected.
  const reservation = parsed.store
    ? await stored.reserve(keyId, {
        previousBytes: footprint?.bytes ?? 0,
        requestBytes: Buffer.byteLength(encodeConversation(parsed.input)) + Buffer.byteLength(JSON.stringify(parsed.echo)),
        answerBytes: storedAnswerBytes(parsed.request.maxTokens ?? gateway.maxOutputTokens(parsed.request.model) ?? UNBOUNDED_COMPLETION_TOKENS),
      })
    : undefined;
  try {
    const before = await continuedConversation(stored, previousId, keyId, parsed, footprint?.size);
    await respond(deps, call, ctx, parsed, before, reservation);
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
  putConversation(parsed, before);
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
  // The events of a burst leave in one write; a failure's last events after them.
  const writes = new TurnWrites(res);
  /** Writes the events; false when the client is not keeping up, and the stream must wait for it (rest-answers.ts, drained). */
  const write = (events: ResponseEvent[]): boolean => {
    let flowing = true;
    for (const out of events) flowing = writeEventJson(writes, responseEventJson(out), out.event) && flowing;
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
    writes.flush();
    throw err;
  }
  writes.end();
}

async function retrieve(stored: StoredResponses, id: string, { req, ctx, res }: RestCall): Promise<void> {
  const stream = queryOf(req).get("stream");
  // What is stored is the Response, not the events that streamed it. Answered as JSON, a client asking for a stream would read no events and no error.
  if (stream !== null && stream !== "false") throw badRequest({ field: "stream", description: "a stored response cannot be streamed again: retrieve it without stream, as one Response" });
  const response = await stored.response(id, ctx.principal.keyId);
  if (!response) throw responseNotFound(id, "id");
  sendJson(res, response);
}

async function listInputItems(stored: StoredResponses, id: string, { req, ctx, res }: RestCall): Promise<void> {
  const query = readInputItemsQuery(queryOf(req));
  const listing = await stored.listing(id, ctx.principal.keyId);
  // The stored conversation ends with the response's answer (see `keep`): what comes before it is what the response was answered from.
  const page = listing && (await inputItemsPage(id, { itemCounts: listing.itemCounts.slice(0, -1), messages: (indices) => listing.messages(indices) }, query));
  // Deleted, or expired, since its index was read: as if it had never been.
  if (!page) throw responseNotFound(id, "id");
  sendJson(res, page);
}

async function remove(stored: StoredResponses, id: string, { ctx, res }: RestCall): Promise<void> {
  if (!(await stored.delete(id, ctx.principal.keyId))) throw responseNotFound(id, "id");
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
  if (!(await stored.holds(id, ctx.principal.keyId))) throw responseNotFound(id, "id");
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
 * `POST /v1/responses/compact` is not served: the compaction item it answers
 * is content only OpenAI's models can read back, which no other vendor's
 * model behind the gateway could continue from.
 */
function compactNotServed(): ConnectError {
  return gatewayError(
    Code.NotFound,
    `POST ${COMPACT_PATH} is not served by the gateway: its compaction item is opaque content only OpenAI's own models read back, and the gateway serves every vendor's; continue with previous_response_id, or send a shortened conversation as input`,
    "ENDPOINT_NOT_FOUND",
    { method: "POST", path: COMPACT_PATH },
  );
}

/** A POST to a word under /v1/responses/ that names no endpoint, as the envelope words any path no route takes. */
function noSuchEndpoint(path: string): ConnectError {
  return gatewayError(
    Code.NotFound,
    `no such endpoint: POST ${excerpt(path)} (under /v1/responses/ the gateway takes POST input_tokens, and GET or DELETE of a response id, resp_…)`,
    "ENDPOINT_NOT_FOUND",
    { method: "POST", path: excerpt(path) },
  );
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
