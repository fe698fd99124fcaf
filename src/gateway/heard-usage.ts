import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { estimatedUsage, type ChatPrompt } from "./usage-estimate.js";

/**
 * What a stream's vendor told of its usage before its end (ChatStreamDelta.usage:
 * Anthropic's message_start counts the prompt, with its cache reads and writes;
 * Gemini, DashScope and Qianfan repeat a running usage, src/providers/running-usage.ts),
 * the latest kept. Only the serving attempt's deltas reach the gateway (the
 * first one ends failover), so what is heard is that attempt's.
 */
export class HeardUsage {
  private latest: Usage | undefined;

  /** `held`: what the call may be billed (PlausibleUsage, for the serving candidate); counts are kept as told when unset. */
  constructor(private readonly held?: { reported(usage: Usage): Usage; estimated(usage: Usage): Usage }) {}

  /** A usage that counts no prompt is no count (a vendor may send zeros before it counted), as reportedUsage has it. */
  hear(usage: Usage | undefined): void {
    if (usage && usage.promptTokens > 0) this.latest = this.held ? this.held.reported(usage) : usage;
  }

  /** The vendor's usage told with the end, held as what it told before the end is. */
  atEnd(usage: Usage): Usage {
    return this.held ? this.held.reported(usage) : usage;
  }

  /** The vendor's usage as last told, if it told any before the end. */
  get usage(): Usage | undefined {
    return this.latest;
  }

  /**
   * What a stream cut before the vendor's usage came is charged, `generated` being the estimated tokens it
   * streamed. The vendor that told its prompt counts has billed them: they stand, cache reads and writes
   * priced as such, with the larger of its output count so far and the estimate. Otherwise the character
   * estimate of the prompt (priced as uncached input) and of what was streamed.
   */
  charged(params: ChatPrompt, generated: number): Usage {
    const charged = this.unheld(params, generated);
    // An estimate, in part or whole: held to the call's limits silently (the vendor's part was held as heard).
    return this.held ? this.held.estimated(charged) : charged;
  }

  private unheld(params: ChatPrompt, generated: number): Usage {
    const heard = this.latest;
    if (!heard) return estimatedUsage(params, generated);
    const completionTokens = Math.max(heard.completionTokens, Math.ceil(generated));
    return create(UsageSchema, { ...heard, completionTokens, totalTokens: heard.promptTokens + completionTokens });
  }
}
