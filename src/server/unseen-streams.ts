import type { ServerHttp2Session } from "node:http2";

/**
 * The streams of one HTTP/2 session that Node reset before the gateway saw
 * them. Past the SETTINGS_MAX_HEADER_LIST_SIZE it advertises (twice the
 * gateway's limit: see one-port-server.ts), Node resets a stream whose header
 * list is still arriving (RST_STREAM ENHANCE_YOUR_CALM) and never hands it
 * to JavaScript: no event says so, and no answer can be written. nghttp2
 * still counts it as the last stream it began (`lastProcStreamID`), so a
 * stream begun that never reached the gateway is found: when a later one
 * arrives past a gap (clients open stream ids in order and skip none), or
 * when the session ends. Such a stream may also be one nghttp2 refused for a
 * malformed header block, or one its session ended mid-block (COMPRESSION_ERROR).
 * Not asked between those times: a header block may still be arriving.
 */
export class UnseenStreams {
  /** The highest stream id the gateway saw, and the highest it counted as unseen. */
  private seen = 0;
  private counted = 0;

  constructor(
    private readonly session: ServerHttp2Session,
    private readonly unseen: () => void,
  ) {}

  /** A stream reached the gateway: one or more begun before it, after the last seen, did not. */
  arrived(id: number): void {
    if (id > Math.max(this.seen, this.counted) + 2) this.unseen();
    this.seen = Math.max(this.seen, id);
  }

  /** The session is ending (its client's GOAWAY, its socket closing), while Node still holds its state. */
  ending(): void {
    if (this.session.destroyed) return;
    const last = this.session.state.lastProcStreamID ?? 0;
    if (last <= Math.max(this.seen, this.counted)) return;
    this.counted = last;
    this.unseen();
  }
}
