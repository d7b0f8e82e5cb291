/**
 * What a build's events add up to: bytes and paths done, what is packing,
 * time left. Pure, with no Node or DOM, so the CLI's progress bar and the
 * app's window read the same numbers.
 */
import type { BuildEvent, PathStatus, StorePathInfo } from './types.ts';

export interface PathState extends StorePathInfo {
  status: PathStatus;
  percent: number;
  packedBytes?: number;
}

export class BuildProgress {
  readonly paths = new Map<string, PathState>();
  totalBytes = 0;
  doneBytes = 0;
  donePaths = 0;
  packed = 0;
  reused = 0;
  /** Bytes that needed packing (not reused), and how many of those are done. */
  private toPackDoneBytes = 0;
  private packStartedAt: number | undefined;

  /** Update with one event; `now` is milliseconds (performance.now() or Date.now()). */
  apply(event: BuildEvent, now: number): void {
    switch (event.event) {
      case 'closure':
        this.paths.clear();
        for (const p of event.paths) this.paths.set(p.path, { ...p, status: 'queued', percent: 0 });
        this.totalBytes = event.totalBytes;
        break;
      case 'path-start': {
        const state = this.paths.get(event.path);
        if (state) state.status = 'packing';
        this.packStartedAt ??= now;
        break;
      }
      case 'path-progress': {
        const state = this.paths.get(event.path);
        if (state) state.percent = event.percent;
        break;
      }
      case 'path-done': {
        const state = this.paths.get(event.path);
        if (state) {
          state.status = event.status;
          state.percent = 100;
          state.packedBytes = event.packedBytes;
        }
        this.donePaths++;
        this.doneBytes += event.narSize;
        if (event.status === 'packed') {
          this.packed++;
          this.toPackDoneBytes += event.narSize;
        } else this.reused++;
        break;
      }
      default:
        break;
    }
  }

  /** Paths being packed right now. */
  active(): PathState[] {
    return [...this.paths.values()].filter((p) => p.status === 'packing');
  }

  /** Bytes done, counting the finished part of paths being packed. */
  bytesNow(): number {
    let partial = 0;
    for (const p of this.active()) partial += (p.narSize * p.percent) / 100;
    return this.doneBytes + partial;
  }

  fraction(): number {
    return this.totalBytes > 0 ? Math.min(1, this.bytesNow() / this.totalBytes) : this.donePaths > 0 ? 1 : 0;
  }

  /**
   * Seconds left, from the rate at which bytes that needed packing were
   * packed (reused paths cost nothing and would make the guess too rosy).
   * Undefined until there is a rate to go by.
   */
  secondsLeft(now: number): number | undefined {
    if (this.packStartedAt === undefined) return undefined;
    const elapsed = (now - this.packStartedAt) / 1000;
    let partial = 0;
    for (const p of this.active()) partial += (p.narSize * p.percent) / 100;
    const done = this.toPackDoneBytes + partial;
    if (elapsed < 1 || done <= 0) return undefined;
    const left = Math.max(0, this.totalBytes - this.bytesNow());
    return left / (done / elapsed);
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** 75 -> "1:15". */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
