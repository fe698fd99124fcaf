/** What a node of an LruList carries: its neighbours, set by the list. */
export interface LruNode<N> {
  prev: N | undefined;
  next: N | undefined;
}

/**
 * Nodes least recently used first, in a doubly linked list threaded through
 * the nodes themselves (no allocation of its own): adding one, dropping one,
 * moving one to the end and finding the oldest are O(1). A Map used as such a
 * queue is not: V8 leaves a hole for each deleted key until it rehashes, and
 * finding the first key walks past every hole at the front (up to half the
 * table), which made each eviction of a full L1 cost tens of µs.
 */
export class LruList<N extends LruNode<N>> {
  private first: N | undefined;
  private last: N | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The least recently used node. */
  get oldest(): N | undefined {
    return this.first;
  }

  /** Adds a node (in no list) as the most recently used. */
  push(node: N): void {
    node.prev = this.last;
    node.next = undefined;
    if (this.last) this.last.next = node;
    else this.first = node;
    this.last = node;
    this.count++;
  }

  remove(node: N): void {
    if (node.prev) node.prev.next = node.next;
    else this.first = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.last = node.prev;
    node.prev = node.next = undefined;
    this.count--;
  }

  /** Makes a node the most recently used. */
  touch(node: N): void {
    if (node === this.last) return;
    this.remove(node);
    this.push(node);
  }

  /** Oldest first; the node just given may be removed before the next is asked for. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let node = this.first; node; ) {
      const next = node.next;
      yield node;
      node = next;
    }
  }
}
