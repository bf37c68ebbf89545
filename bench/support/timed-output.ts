/**
 * A byte stream as a client sees it, each chunk stamped with its arrival time (process.hrtime, ns), so a bench
 * can ask when the first byte came and when the chunk completing some line came, whenever it asks.
 */
export class TimedOutput {
  text = '';
  /** hrtime (ns) of the first non-empty chunk; 0n before. */
  firstByteAt = 0n;
  private readonly chunkEnds: number[] = [];
  private readonly chunkTimes: bigint[] = [];
  private readonly waiters = new Set<() => boolean>();

  constructor(private readonly describe: () => string = () => '') {}

  push(chunk: string, at = process.hrtime.bigint()): void {
    if (chunk.length === 0) return;
    if (this.firstByteAt === 0n) this.firstByteAt = at;
    this.text += chunk;
    this.chunkEnds.push(this.text.length);
    this.chunkTimes.push(at);
    [...this.waiters].forEach((w) => w());
  }

  /** Arrival time of the chunk holding the last character of the first match, or undefined. */
  timeOf(pattern: RegExp): bigint | undefined {
    const match = pattern.exec(this.text);
    if (!match) return undefined;
    const lastChar = match.index + match[0].length - 1;
    const i = this.chunkEnds.findIndex((end) => end > lastChar);
    return this.chunkTimes[i];
  }

  /** Resolves with timeOf(pattern) once the text matches; rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const at = this.timeOf(pattern);
        if (at === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(at);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`output did not match ${pattern} within ${timeoutMs} ms; got:\n${this.text}${this.describe()}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }
}
