/**
 * The CLI's human output: a line per finished store path and, on a terminal,
 * one progress bar kept at the bottom (bytes, paths, time left).
 */
import { BuildProgress, formatBytes, formatDuration } from '../shared/progress.ts';
import type { BuildEvent } from '../shared/types.ts';
import { storeName } from '../pipeline/media/store.ts';

export interface Sink {
  write(text: string): unknown;
  columns?: number | undefined;
}

const BAR_INTERVAL_MS = 100;

/** The progress bar line, fitted to `columns`. Pure: tested on its own. */
export function progressLine(progress: BuildProgress, now: number, columns: number): string {
  const percent = Math.floor(progress.fraction() * 100);
  const left = progress.secondsLeft(now);
  const active = progress.active();
  const text = [
    `${String(percent).padStart(3)}%`,
    `${formatBytes(progress.bytesNow())} / ${formatBytes(progress.totalBytes)}`,
    `${progress.donePaths}/${progress.paths.size} paths`,
    active.length > 0 ? `${active.length} packing` : '',
    left === undefined ? '' : `${formatDuration(left)} left`,
  ]
    .filter(Boolean)
    .join('  ');
  const barWidth = Math.max(10, Math.min(40, columns - text.length - 4));
  const filled = Math.round((barWidth * percent) / 100);
  const line = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`;
  return line.length > columns ? line.slice(0, Math.max(0, columns - 1)) : line;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export class TerminalRenderer {
  readonly progress = new BuildProgress();
  private barShown = false;
  private lastDraw = 0;

  private readonly out: Sink;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(out: Sink, tty: boolean, now: () => number = () => performance.now()) {
    this.out = out;
    this.tty = tty;
    this.now = now;
  }

  private columns(): number {
    // A pseudo-terminal without a size reports 0 columns.
    return this.out.columns || 100;
  }

  private clearBar(): void {
    if (this.barShown) this.out.write('\r\x1b[2K');
    this.barShown = false;
  }

  private drawBar(force = false): void {
    if (!this.tty || this.progress.paths.size === 0) return;
    const now = this.now();
    if (!force && now - this.lastDraw < BAR_INTERVAL_MS) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[2K${progressLine(this.progress, now, this.columns())}`);
    this.barShown = true;
  }

  /** Print a line above the bar. */
  line(text: string): void {
    this.clearBar();
    this.out.write(`${text}\n`);
    this.drawBar(true);
  }

  handle(event: BuildEvent): void {
    this.progress.apply(event, this.now());
    switch (event.event) {
      case 'stage':
        this.line(`> ${event.message}`);
        break;
      case 'log':
        this.line(`  ${event.message}`);
        break;
      case 'warning':
        this.line(`warning: ${event.message}`);
        break;
      case 'system':
        this.line(`  ${event.system.name} (NixOS ${event.system.nixosVersion}, ${event.system.system})`);
        this.line(`  ${event.system.toplevel}`);
        break;
      case 'closure':
        this.line(`  ${event.paths.length} store paths, ${formatBytes(event.totalBytes)}`);
        break;
      case 'path-done': {
        const sizes = `${formatBytes(event.narSize)} -> ${formatBytes(event.packedBytes)}`;
        const time = event.status === 'packed' ? `  ${event.seconds.toFixed(1)} s` : '';
        this.line(`  ${pad(event.status, 7)} ${pad(storeName(event.path), 40)} ${pad(sizes, 24)}${time}`);
        break;
      }
      case 'file':
        this.line(`  ${pad(event.reused ? 'kept' : 'wrote', 7)} ${pad(event.name, 40)} ${formatBytes(event.bytes)}`);
        break;
      case 'done':
        this.clearBar();
        this.out.write(
          [
            `Boot folder: ${event.outDir}`,
            `  ${event.paths} store paths: ${event.packed} packed, ${event.reused} reused, in ${event.seconds.toFixed(1)} s`,
            `  download ${formatBytes(event.downloadBytes)}; booting takes about ${formatBytes(event.ramBytes)} of RAM on top of what the system itself uses`,
            '',
          ].join('\n'),
        );
        return;
      default:
        this.drawBar();
        return;
    }
  }

  /** Remove the bar (on error or cancel) so the message that follows starts clean. */
  finish(): void {
    this.clearBar();
  }
}
