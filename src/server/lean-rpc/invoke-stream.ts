import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor, type MethodImplSpec, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";

type ServerStreamingSpec = MethodImplSpec & { kind: "server_streaming" };
type Message = MessageShape<DescMessage>;
type StreamFn = (req: StreamRequest) => Promise<StreamResponse>;

/**
 * A server-streaming implementation's messages, run through the interceptors
 * as connect-es's transformInvokeImplementation runs them (the same request
 * and response they see, one request message required, each output message
 * normalized, the response header and trailer copied onto the context's) but
 * as one plain iterator rather than its three layers of async generators,
 * which cost more per streamed message than the gateway's own work. Nothing
 * runs until the first message is asked for, as in connect-es. A request
 * that did not decode reaches the interceptors as in connect-es too, which
 * decodes a stream's request only when the implementation reads it: its
 * error is raised there.
 */
export function invokeServerStream(spec: ServerStreamingSpec, context: HandlerContext, input: { message: unknown } | { error: ConnectError }, interceptors: Interceptor[]): AsyncIterable<Message> {
  const output = spec.method.output as DescMessage;
  const anyFn = async (req: StreamRequest): Promise<StreamResponse> => {
    const single = await onlyMessage(req.message);
    const impl = spec.impl as (message: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;
    const ctx: HandlerContext = { ...context, service: req.service, requestHeader: req.header, signal: req.signal, values: req.contextValues };
    return { stream: true, message: impl(single, ctx) as AsyncIterable<MessageShape<DescMessage>>, method: spec.method, service: spec.method.parent, header: context.responseHeader, trailer: context.responseTrailer };
  };
  // The first interceptor outermost, as connect-es applies them; they take unary calls too, so the casts.
  const next = interceptors.reduceRight<StreamFn>((inner, interceptor) => interceptor(inner as Parameters<Interceptor>[0]) as StreamFn, anyFn);
  const request: StreamRequest = {
    stream: true,
    message: ("error" in input ? failing(input.error) : createAsyncIterable([input.message])) as AsyncIterable<MessageShape<DescMessage>>,
    method: spec.method,
    requestMethod: context.requestMethod,
    url: context.url,
    signal: context.signal,
    header: context.requestHeader,
    service: spec.method.parent,
    contextValues: context.values,
  };
  return {
    [Symbol.asyncIterator](): AsyncIterator<Message> {
      let started: Promise<{ response: StreamResponse; messages: AsyncIterator<Message> }> | undefined;
      const start = () =>
        (started ??= next(request).then((response) => {
          copyHeaders(response.header, context.responseHeader);
          return { response, messages: response.message[Symbol.asyncIterator]() };
        }));
      return {
        next: async () => {
          const { response, messages } = await start();
          const result = await messages.next();
          if (result.done) {
            copyHeaders(response.trailer, context.responseTrailer);
            return result;
          }
          return { done: false, value: create(output, result.value) };
        },
        return: async (value?: unknown) => {
          const begun = await started?.catch(() => undefined);
          return (await begun?.messages.return?.(value)) ?? { done: true, value };
        },
      };
    },
  };
}

/** A stream that fails with `error` at its first message: a request that does not decode, an answer that is only an error. */
export function failing(error: ConnectError): AsyncIterable<never> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
}

/** The one request message of a server-streaming call, as connect-es requires it. */
async function onlyMessage(messages: AsyncIterable<unknown>): Promise<unknown> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  const second = await it.next();
  if (second.done !== true) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.Unimplemented);
  return first.value;
}

/** Replaces `to`'s entries with `from`'s (nothing when they are one object), as connect-es does. */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}
