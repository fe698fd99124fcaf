import { randomBytes } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { CallContext } from "../../gateway/call-context.js";
import type { Gateway } from "../../gateway/gateway.js";
import { toOpenAIError } from "../../providers/openai/errors.js";
import { ResponseEventWriter, type ResponseEvent } from "../../providers/openai-responses/response-events.js";
import { toResponse, type ResponseHead } from "../../providers/openai-responses/response-object.js";
import { responsesRequestFromOpenAI, type ResponsesRequest } from "../../providers/openai-responses/responses-request.js";
import type { StorageReservation } from "../../responses/key-storage-quota.js";
import { encodeConversation, type StoredResponses } from "../../responses/stored-responses.js";
import type { RestCall, RestResponse, RestSurface } from "../envelope/rest-envelope.js";
import { answerHeaders, cacheControlOf, drained, sendJson, streamHeaders, writeEvent } from "../rest-answers.js";
import { validateChat } from "../validate.js";

/** The ledger's name for calls on this surface. */
export const OPENAI_RESPONSES = "openai_responses";

const RESPONSE_PATH = "/v1/responses/";

export interface ResponsesSurfaceDeps {
  gateway: Gateway;
  stored: StoredResponses;
}

/**
 * OpenAI's Responses API (`POST /v1/responses`, `GET` and `DELETE
 * /v1/responses/{id}`), as the OpenAI SDKs, Codex and the Agents SDK call
 * it: any model behind the gateway answers, a conversation continues from a
 * stored response with `previous_response_id`, and a stored response belongs
 * to the key that made it (any other key gets 404). The Responses module
 * reads the requests and writes the answers; the pipeline is the same as
 * every surface's.
 */
export function createResponsesSurface({ gateway, stored }: ResponsesSurfaceDeps): RestSurface {
  return {
    route(method, path) {
      if (method === "POST" && path === "/v1/responses") return { pattern: path, handle: (call) => createResponse(gateway, stored, call) };
      if (!path.startsWith(RESPONSE_PATH) || path.length === RESPONSE_PATH.length || path.slice(RESPONSE_PATH.length).includes("/")) return undefined;
      const id = path.slice(RESPONSE_PATH.length);
      const pattern = `${RESPONSE_PATH}{id}`;
      if (method === "GET") return { pattern, handle: (call) => retrieve(stored, id, call) };
      if (method === "DELETE") return { pattern, handle: (call) => remove(stored, id, call) };
      return undefined;
    },
    writeError: writeResponsesError,
  };
}

async function createResponse(gateway: Gateway, stored: StoredResponses, call: RestCall): Promise<void> {
  const parsed = responsesRequestFromOpenAI(call.body);
  const keyId = call.ctx.principal.keyId;
  // Refused unread when it holds more than one response may: the load is bounded before anything else is checked.
  const previous = parsed.previousResponseId ? await stored.get(parsed.previousResponseId, keyId) : undefined;
  if (parsed.previousResponseId && !previous) throw notFound(parsed.previousResponseId, "previous_response_id");
  // Room for the response this call will store, at least what it continues, its input and what the Response repeats of the request, held until it is stored.
  const expected = (previous?.bytes ?? 0) + Buffer.byteLength(encodeConversation(parsed.input)) + Buffer.byteLength(JSON.stringify(parsed.echo));
  const reservation = parsed.store ? await stored.reserve(keyId, expected) : undefined;
  try {
    await respond(gateway, stored, call, parsed, previous?.conversation ?? [], reservation);
  } finally {
    reservation?.release();
  }
}

/** Asks the gateway and answers, keeping the response (within the reservation) when the caller stores it. */
async function respond(
  gateway: Gateway,
  stored: StoredResponses,
  { ctx, req, res }: RestCall,
  parsed: ResponsesRequest,
  before: Message[],
  reservation: StorageReservation | undefined,
): Promise<void> {
  const keyId = ctx.principal.keyId;
  const request = parsed.request;
  request.messages = [...(parsed.instructions ? [parsed.instructions] : []), ...before, ...parsed.input];
  request.cacheControl = cacheControlOf(req);
  validateChat(request);
  const call: CallContext = { ...ctx, surface: OPENAI_RESPONSES };
  const head: ResponseHead = { id: `resp_${randomBytes(16).toString("hex")}`, createdAt: Math.floor(Date.now() / 1000), model: request.model, echo: parsed.echo };
  // What a continuation of this response starts from: the conversation without its instructions, and the answer.
  const keep = async (answer: Message, response: JsonObject) => {
    if (parsed.store) await stored.put(head.id, keyId, { conversation: [...before, ...parsed.input, answer], response }, reservation);
  };
  if (!parsed.stream) {
    const answer = await gateway.chat(request, call);
    const response = toResponse(answer, { ...head, model: answer.model });
    if (answer.message) await keep(answer.message, response);
    sendJson(res, response, answerHeaders(answer));
    return;
  }
  // The writer keeps the whole answer (its last events repeat it): the gateway bounds it.
  const streamed = await gateway.chatStream(request, call, { keepsAnswer: true });
  let writer: ResponseEventWriter | undefined;
  /** Writes the events; false when the client is not keeping up, and the stream must wait for it (rest-answers.ts, drained). */
  const write = (events: ResponseEvent[]): boolean => {
    let flowing = true;
    for (const out of events) flowing = writeEvent(res, out.data, out.event) && flowing;
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
        // Kept before the caller hears the response is complete, so that it can go on from it at once.
        await keep(end.message, end.response);
        flowing = write(end.events) && flowing;
      }
      if (!flowing) await drained(res, call.signal);
    }
  } catch (err) {
    // Once the stream has begun, the failure is its last events (`error`, `response.failed`), numbered in turn.
    if (writer && res.headersSent && !res.writableEnded) write(writer.fail(toOpenAIError(ConnectError.from(err)).body));
    throw err;
  }
  res.end();
}

async function retrieve(stored: StoredResponses, id: string, { ctx, res }: RestCall): Promise<void> {
  const response = await stored.response(id, ctx.principal.keyId);
  if (!response) throw notFound(id, "id");
  sendJson(res, response);
}

async function remove(stored: StoredResponses, id: string, { ctx, res }: RestCall): Promise<void> {
  if (!(await stored.delete(id, ctx.principal.keyId))) throw notFound(id, "id");
  sendJson(res, { id, object: "response", deleted: true });
}

/** A response of another key, expired or never made is alike: 404. */
function notFound(id: string, field: string): ConnectError {
  return gatewayError(Code.NotFound, `${field}: no response "${excerpt(id)}" is stored for this key (responses are kept with store: true, for a limited time)`, "RESPONSE_NOT_FOUND", { response: excerpt(id) });
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
