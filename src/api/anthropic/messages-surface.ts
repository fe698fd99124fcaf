import type { JsonObject } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import type { Gateway } from "../../gateway/gateway.js";
import { estimatedUsage } from "../../gateway/usage-estimate.js";
import { toAnthropicError } from "../../providers/anthropic/errors.js";
import { toAnthropicMessage } from "../../providers/anthropic/messages-answer.js";
import { AnthropicEventWriter } from "../../providers/anthropic/messages-events.js";
import { messagesRequestFromAnthropic } from "../../providers/anthropic/messages-request.js";
import { BETA_HEADER } from "../../providers/anthropic/original-request.js";
import { header, type RestCall, type RestResponse, type RestRoute, type RestSurface } from "../envelope/rest-envelope.js";
import { answerHeaders, cacheControlOf, drained, sendJson, streamHeaders, writeEvent } from "../rest-answers.js";
import { TurnWrites } from "../../server/turn-writes.js";
import { validateChat } from "../validate.js";
import { ANTHROPIC_MESSAGES } from "../../usage/recorded-surfaces.js";
import { checkPassthroughFields } from "./passthrough-fields.js";
import { reasonOf, withErrorInfo } from "../../common/gateway-error.js";
import { MessageThreads } from "../../threads/message-threads.js";
import { threadTurn, withoutThreadsBeta, type ThreadTurn } from "./message-thread-turn.js";
import { StreamedReply } from "./streamed-reply.js";

export interface AnthropicSurfaceDeps {
  gateway: Gateway;
  /**
   * Whether a provider's streamed tool input always adds up to one JSON
   * object (Anthropic's own API, by its dialect): its fragments then stream on
   * as they come. Unset, or false: each tool call is written whole once its
   * input is, cleaned as a whole answer's is (AnthropicEventWriterOptions).
   */
  toolInputIsObject?: (provider: string) => boolean;
  /** Where the message threads of `thread` are kept (message-thread-turn.ts); by default this surface's own. */
  threads?: MessageThreads;
}

/** Where Anthropic's API lives, and the header its SDKs send on every call: a request for neither route is still refused in Anthropic's shape. */
const MESSAGES_PREFIX = "/v1/messages";
export const VERSION_HEADER = "anthropic-version";

/**
 * Anthropic's Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`),
 * as the Anthropic SDKs and Claude Code call it with `ANTHROPIC_BASE_URL`
 * set to the gateway: any model behind the gateway answers in Anthropic's
 * shape, and Anthropic's own models get the caller's request as it was
 * written. The Anthropic codec reads the requests and writes the answers;
 * the pipeline is the same as every surface's.
 */
export function createAnthropicSurface({ gateway, toolInputIsObject = () => false, threads = new MessageThreads() }: AnthropicSurfaceDeps): RestSurface {
  const routes: Record<string, RestRoute["handle"]> = {
    "POST /v1/messages": (call) => messages(gateway, toolInputIsObject, threads, call),
    "POST /v1/messages/count_tokens": (call) => countTokens(gateway, call),
  };
  return {
    route(method, path) {
      const handle = routes[`${method} ${path}`];
      return handle && { pattern: path, handle };
    },
    writeError: writeAnthropicError,
    claims: (path, req) => isAnthropicRequest(path, header(req, VERSION_HEADER) ?? undefined),
    // Anthropic's SDKs read the id from here (APIError.requestID, a message's _request_id).
    requestIdHeader: "request-id",
  };
}

/** Whether a request is one for Anthropic's API (a path under it, or the version header its SDKs send), to be refused in its shape. */
export function isAnthropicRequest(path: string, versionHeader: string | undefined): boolean {
  return path === MESSAGES_PREFIX || path.startsWith(`${MESSAGES_PREFIX}/`) || versionHeader !== undefined;
}

async function messages(gateway: Gateway, toolInputIsObject: (provider: string) => boolean, threads: MessageThreads, call: RestCall): Promise<void> {
  // The gateway holds the thread, for every vendor: none is sent `thread`, or asked for the beta.
  const turn = threadTurn(call.body, call.ctx.principal.keyId, threads);
  try {
    await answer(gateway, toolInputIsObject, turn, call);
  } finally {
    // Unless it was answered (then this does nothing), the thread it continued may be continued again.
    turn.failed();
  }
}

async function answer(gateway: Gateway, toolInputIsObject: (provider: string) => boolean, turn: ThreadTurn, { ctx, req, res }: RestCall): Promise<void> {
  const { request, stream } = messagesRequestFromAnthropic(turn.body, { maxTokensRequired: true, betas: withoutThreadsBeta(header(req, BETA_HEADER) ?? undefined) });
  request.cacheControl = cacheControlOf(req);
  checkPassthroughFields(request.original!.body);
  validateChat(request);
  const call = { ...ctx, surface: ANTHROPIC_MESSAGES };
  // Anthropic's ids look like this; the gateway's request id makes it one per call, and findable in the logs.
  const id = `msg_${ctx.requestId.replaceAll("-", "")}`;
  if (!stream) {
    const answer = await gateway.chat(request, call);
    const message = toAnthropicMessage(answer, id);
    turn.answered(id, { role: "assistant", content: message.content! });
    sendJson(res, message, answerHeaders(answer));
    return;
  }
  const streamed = await gateway.chatStream(request, call);
  let writer: AnthropicEventWriter | undefined;
  const reply = new StreamedReply();
  // The events of a burst leave in one write; a failure's event (writeAnthropicError) after them.
  const writes = new TurnWrites(res);
  try {
    for await (const event of streamed.responses) {
      // The next event is taken from the vendor only once the client has taken this one (rest-answers.ts, drained).
      let flowing = true;
      if (!writer) {
        // The serving provider and model are known with the first event, and serve the stream to its end: the model is named as a unary answer names it.
        const provider = streamed.servingProvider();
        writer = new AnthropicEventWriter(id, streamed.servingModel() ?? request.model, { toolInputStreams: provider !== undefined && toolInputIsObject(provider) });
        res.writeHead(200, streamHeaders(streamed));
        for (const start of writer.start(streamed.earlyUsage())) flowing = writeEvent(writes, start.data, start.event) && flowing;
      }
      const written = event.event.case === "delta" ? writer.delta(event.event.value) : event.event.case === "summary" ? writer.finish(event.event.value) : [];
      reply.add(written);
      // Kept before the caller hears the answer is complete, so that it can continue from it at once.
      if (event.event.case === "summary") turn.answered(id, reply.message());
      for (const out of written) flowing = writeEvent(writes, out.data, out.event) && flowing;
      if (!flowing) await drained(res, call.signal);
    }
  } catch (err) {
    writes.flush();
    throw err;
  }
  writes.end();
}

/**
 * `/v1/messages/count_tokens`: the gateway's own estimate (about four
 * characters a token, the rule its rate limits use). No vendor is asked,
 * nothing is charged and no tokens are taken, but the model must be one the
 * key's scope lets it call. Like every call, it was counted against the key's
 * requests per minute before its body was read (the key gate), not here.
 */
async function countTokens(gateway: Gateway, { ctx, body, res }: RestCall): Promise<void> {
  const { request } = messagesRequestFromAnthropic(body, { maxTokensRequired: false });
  validateChat(request);
  await gateway.admitUncharged(request.model, { ...ctx, surface: ANTHROPIC_MESSAGES });
  // The estimate counts the tools' schemas and the images as the prompt of a charged call does.
  sendJson(res, { input_tokens: estimatedUsage(request, 0).promptTokens });
}

/** A failure in Anthropic's shape; once a stream has begun, as Anthropic does, an `error` event. */
export function writeAnthropicError(res: RestResponse, error: ConnectError): void {
  const { status, headers, body } = toAnthropicError(error);
  withThreadErrorCode(body, error);
  if (res.headersSent) {
    if (!res.writableEnded) {
      writeEvent(res, body, "error");
      res.end();
    }
    return;
  }
  res.writeHead(status, headers).end(JSON.stringify(body));
}

/** A thread rejection carries Anthropic's `error.details.error_code`, which the SDKs' thread helpers replay on. */
function withThreadErrorCode(body: JsonObject, error: ConnectError): void {
  const errorCode = /^THREAD_/.test(reasonOf(withErrorInfo(error)) ?? "") ? error.findDetails(ErrorInfoSchema)[0]?.metadata.error_code : undefined;
  if (errorCode) (body.error as JsonObject).details = { error_code: errorCode };
}
