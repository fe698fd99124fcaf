import { create, isMessage, toBinary, toJson, type DescMessage, type DescService, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";

/**
 * `impl` with each unary answer encoded once, in the format the caller asked
 * for, before it is returned. connect-es encodes an answer after the
 * interceptors have finished with the call, so an answer that cannot be
 * encoded (a Timestamp past 9999-12-31, an int32 out of range) reached the
 * caller as Internal while the call log and metrics said "ok". Thrown from
 * the handler, the encoder's error is the call's: Internal, logged with its
 * cause and counted as such. It costs one more encoding of each answer,
 * which the AdminService (an operator's calls, not the traffic's) can afford.
 */
export function withEncodableAnswers<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceImpl<S> {
  const checked: Record<string, unknown> = { ...impl };
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const handle = impl[method.localName as keyof ServiceImpl<S>] as unknown as (req: unknown, ctx: HandlerContext) => Promise<MessageInitShape<DescMessage>> | MessageInitShape<DescMessage>;
    checked[method.localName] = async (req: unknown, ctx: HandlerContext) => {
      const init = await handle(req, ctx);
      // A handler may answer with the message's fields rather than the message: made one here, as connect-es would.
      const answer = isMessage(init, method.output) ? init : create(method.output, init);
      encode(method.output, answer, ctx);
      return answer;
    };
  }
  return checked as ServiceImpl<S>;
}

/** Encodes `answer` as connect-es is about to (the content type it set says which format), throwing what the encoder throws. */
function encode(schema: DescMessage, answer: Message, ctx: HandlerContext): void {
  if (/json/.test(ctx.responseHeader.get("content-type") ?? "")) toJson(schema, answer);
  else toBinary(schema, answer);
}
