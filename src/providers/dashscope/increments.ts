/**
 * Turns the text fields of a DashScope stream into increments. With
 * `incremental_output` each chunk is new text; without it (and for models
 * that ignore the flag) each chunk repeats everything so far. A chunk that
 * starts with all text received so far is taken as cumulative; the first
 * chunk that does not settles the stream as incremental for good, so later
 * coincidences cannot cut text.
 */
export class IncrementTracker {
  private received = "";
  private mode: "unknown" | "incremental" | "cumulative" = "unknown";

  next(piece: string): string {
    if (piece === "") return "";
    if (this.mode !== "incremental" && this.received !== "" && piece.startsWith(this.received)) {
      this.mode = "cumulative";
      const increment = piece.slice(this.received.length);
      this.received = piece;
      return increment;
    }
    if (this.mode === "unknown" && this.received !== "") this.mode = "incremental";
    this.received += piece;
    return piece;
  }
}
