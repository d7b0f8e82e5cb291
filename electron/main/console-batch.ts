/**
 * A test boot's serial console, batched for the page: QEMU hands over output
 * in whatever chunks its pipe gives (a chatty kernel: hundreds a second), and
 * each IPC message costs both processes. The page's terminal only needs what
 * piled up since the last frame or so.
 */

export const CONSOLE_FLUSH_MS = 50;
/** Sent at once when this much piles up, so one message stays small. */
export const CONSOLE_MAX_CHARS = 64 * 1024;

export class ConsoleBatcher {
  private pending = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly send: (data: string) => void;
  private readonly intervalMs: number;
  private readonly maxChars: number;

  constructor(send: (data: string) => void, intervalMs = CONSOLE_FLUSH_MS, maxChars = CONSOLE_MAX_CHARS) {
    this.send = send;
    this.intervalMs = intervalMs;
    this.maxChars = maxChars;
  }

  /** Add output; it is sent within `intervalMs`. */
  push(data: string): void {
    if (data === '') return;
    this.pending += data;
    if (this.pending.length >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Send what is pending now (at the end of the boot, before its result). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const data = this.pending;
    this.pending = '';
    this.send(data);
  }
}
