/**
 * Counts held per key (a client, as ./client-key.ts names it; a connection), for the caps and
 * budgets that bound what one key may hold. A key whose count returns to 0
 * is forgotten, so that keys come and go without the map growing.
 */
export class Tally<Key> {
  private readonly counts = new Map<Key, number>();

  of(key: Key): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: Key, amount = 1): void {
    this.counts.set(key, this.of(key) + amount);
  }

  remove(key: Key, amount = 1): void {
    const left = this.of(key) - amount;
    if (left <= 0) this.counts.delete(key);
    else this.counts.set(key, left);
  }
}
