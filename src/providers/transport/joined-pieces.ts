/** Pieces joined into one at each level: at most this many less one are held at a level, and each character is copied once a level. */
const PIECES_PER_JOIN = 16;

/**
 * Text that comes in pieces, to be joined with `separator` at the end (an
 * event's data lines, the parts of a line that came in many reads), held in
 * few strings however many pieces come: every PIECES_PER_JOIN pieces at one
 * level are joined into one piece of the next. Held one by one, a hostile
 * vendor's many tiny pieces (`data:` lines with nothing after, a line sent a
 * byte at a time) would each cost an array slot and a string header, many
 * times their characters, and no bound on characters would bound memory.
 * Joined so, they cost about their characters; each character is copied once
 * per level (log16 of the pieces), and a text of a few pieces not at all
 * until the end.
 */
export class JoinedPieces {
  /** levels[0]: pieces as they came; levels[i]: joins of PIECES_PER_JOIN of level i - 1's. Higher levels hold earlier text. */
  private levels: string[][] = [[]];
  private added = 0;
  private length = 0;

  constructor(private readonly separator: string) {}

  /** The characters of the text joined so far, separators included. */
  get chars(): number {
    return this.length;
  }

  /** Whether no piece has come since the last take. */
  get empty(): boolean {
    return this.added === 0;
  }

  /** The strings held (for tests: it stays small however many pieces came). */
  get held(): number {
    let held = 0;
    for (const level of this.levels) held += level.length;
    return held;
  }

  add(piece: string): void {
    this.length += (this.added === 0 ? 0 : this.separator.length) + piece.length;
    this.added++;
    this.levels[0]!.push(piece);
    for (let level = 0; this.levels[level]!.length === PIECES_PER_JOIN; level++) {
      const joined = this.levels[level]!.join(this.separator);
      this.levels[level] = [];
      (this.levels[level + 1] ??= []).push(joined);
    }
  }

  /** The text joined ("" for none); nothing is held after. */
  take(): string {
    if (this.added === 0) return "";
    const text = this.added === 1 ? this.levels[0]![0]! : [...this.levels].reverse().flat().join(this.separator);
    // One level (the usual event, of few lines): its array is emptied in place, not made anew for each event.
    if (this.levels.length === 1) this.levels[0]!.length = 0;
    else this.levels = [[]];
    this.added = 0;
    this.length = 0;
    return text;
  }
}
