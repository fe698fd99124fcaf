// What a stream's decoder says of the answer it reads, for vendors that name
// it in one event (Anthropic's message_start) or repeat it on every chunk
// (OpenAI, Gemini, DashScope, Qianfan): the vendor's id and the model as the
// vendor named it (with OpenAI's tier and fingerprint), on the first delta and
// again at the end, so that a surface names every chunk as the vendor did from
// the first (ChatDelta.id, vendor_model).
import { vendorIdentityOf, type IdentityFields } from "./openai/answer-identity.js";
import type { ChatStreamDelta, ChatStreamEvent, VendorIdentity } from "./provider.js";

export class StreamIdentity {
  private heardId = "";
  private identity: VendorIdentity = {};
  private announced = false;

  /** The vendor's id of the answer, as first said ("" while none was). */
  get id(): string {
    return this.heardId;
  }

  /**
   * What a vendor event says of the answer. All are metadata: one that is
   * empty or no string is left out, rather than failing the answer. The first
   * said of each is kept, so that the first delta and the end name the answer alike.
   */
  heard(id: unknown, answer: IdentityFields = {}): void {
    if (!this.heardId && typeof id === "string" && id) this.heardId = id;
    this.identity = { ...vendorIdentityOf(answer), ...this.identity };
  }

  /** `events`, with the stream's first delta (when among them) carrying the id and model heard by then. */
  announce(events: ChatStreamEvent[]): ChatStreamEvent[] {
    if (this.announced) return events;
    const first = events.find((event): event is ChatStreamDelta => event.type === "delta");
    if (first === undefined) return events;
    this.announced = true;
    if (this.heardId) first.id = this.heardId;
    Object.assign(first, this.identity);
    return events;
  }

  /** What the end event says of the answer. */
  said(): { id: string } & VendorIdentity {
    return { id: this.heardId, ...this.identity };
  }
}
