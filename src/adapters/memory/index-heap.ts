/**
 * A binary min-heap of recipient indices ordered by a key the caller reads from its own columns
 * (ties broken by index, so equal keys come out in insertion order). Holding plain integers keeps
 * a million waiting recipients in a few megabytes, with no object per entry.
 */
export class IndexHeap {
  private readonly items: number[] = [];

  constructor(private readonly keyOf: (index: number) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0];
  }

  push(index: number): void {
    const items = this.items;
    items.push(index);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      const parentIndex = items[parent]!;
      if (!this.less(index, parentIndex)) break;
      items[child] = parentIndex;
      child = parent;
    }
    items[child] = index;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let hole = 0;
    const size = items.length;
    for (;;) {
      const left = 2 * hole + 1;
      if (left >= size) break;
      const right = left + 1;
      const smaller = right < size && this.less(items[right]!, items[left]!) ? right : left;
      const smallerIndex = items[smaller]!;
      if (!this.less(smallerIndex, last)) break;
      items[hole] = smallerIndex;
      hole = smaller;
    }
    items[hole] = last;
    return top;
  }

  private less(a: number, b: number): boolean {
    const ka = this.keyOf(a);
    const kb = this.keyOf(b);
    return ka < kb || (ka === kb && a < b);
  }
}
