// The prompt counts of vendors that repeat a running usage on every chunk
// (Gemini's usageMetadata, DashScope's and Qianfan's usage), told on the first
// delta after the vendor counted the prompt (ChatStreamDelta.usage): a stream
// cut before its end is then charged the vendor's count of the prompt rather
// than a character estimate (src/gateway/heard-usage.ts), as Anthropic's
// message_start allows.
import type { Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatStreamDelta, ChatStreamEvent } from "./provider.js";
import type { VendorUsage } from "./vendor-usage.js";

export class RunningUsage {
  private told = false;

  constructor(private readonly read: (raw: unknown) => VendorUsage) {}

  /**
   * `events`, the first delta among them carrying `raw`'s counts, until one
   * did. Counts that could not be true, or count no prompt, are not told: the
   * end's usage is read (and its faults said) as before.
   */
  tell(events: ChatStreamEvent[], raw: unknown): ChatStreamEvent[] {
    if (this.told || raw === undefined || raw === null) return events;
    const first = events.find((event): event is ChatStreamDelta => event.type === "delta");
    if (first === undefined) return events;
    const { usage, fault } = this.read(raw);
    if (fault !== undefined || !counted(usage)) return events;
    this.told = true;
    first.usage = usage;
    return events;
  }
}

const counted = (usage: Usage | undefined): usage is Usage => usage !== undefined && usage.promptTokens > 0;
