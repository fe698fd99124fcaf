import type { Logprobs } from "../../gen/ts/switchboard/v1/chat_pb.js";

/**
 * A streamed answer's log probabilities, gathered from its deltas for the
 * response cache (which keeps the whole answer), and only for it: a stream
 * nothing keeps holds a delta's at a time. `chars` counts what they hold
 * (each token's text and its alternatives'), for the bound on what the
 * gateway keeps of one answer.
 */
export class KeptLogprobs {
  private kept: Logprobs | undefined;

  /** Adds a delta's; returns how many characters they hold. */
  add(logprobs: Logprobs): number {
    if (!this.kept) this.kept = { $typeName: "switchboard.v1.Logprobs", content: [], refusal: [] };
    let chars = 0;
    for (const [from, to] of [[logprobs.content, this.kept.content], [logprobs.refusal, this.kept.refusal]] as const) {
      for (const token of from) {
        to.push(token);
        chars += token.token.length;
        for (const top of token.topLogprobs) chars += top.token.length;
      }
    }
    return chars;
  }

  /** All of them, or undefined when no delta had any. */
  get all(): Logprobs | undefined {
    return this.kept;
  }
}
