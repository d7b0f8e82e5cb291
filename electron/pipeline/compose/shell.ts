/**
 * Many short commands without Node's spawn cost for each. Starting a process
 * from Node forks Node itself: about 8 ms of the main thread here, against
 * 10 ms of work for mksquashfs on a small store path, and hundreds of small
 * paths in a closure. A {@link ShellRunner} is one POSIX shell that reads one
 * command per line and runs it; forking a small shell is cheap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanceledError } from '../base/errors.ts';
import { commandLine } from '../base/quote.ts';
import { KILL_GRACE_MS } from '../base/tools.ts';

/**
 * The shell's loop: run each line with no input and no output, its errors
 * into the file $1, and answer with the exit status on a line of its own.
 * Stopped (SIGTERM to its process group, the command with it), the shell
 * exits only once the command has ended: a trapped signal waits for the
 * foreground command, so when the shell is gone, so is what it ran.
 */
const LOOP = `trap 'exit 143' TERM; while IFS= read -r line; do eval "$line" </dev/null >/dev/null 2>"$1"; echo "$?"; done`;

export interface ShellResult {
  exitCode: number;
  /** What the command wrote to stderr. */
  stderr: string;
}

/** The rest of a shell's error file's name, `netboot-composer-PID-` + this, in the system's temporary folder. */
export const SHELL_ERR_FILE = /^[0-9a-f]{12}\.err$/;

export class ShellRunner {
  private readonly shell: ChildProcess;
  private readonly errFile: string;
  private pending: { resolve: (result: number) => void; reject: (error: unknown) => void } | undefined;
  private output = '';
  private exited = false;

  constructor() {
    this.errFile = join(tmpdir(), `netboot-composer-${process.pid}-${randomBytes(6).toString('hex')}.err`);
    // Its own process group, so that canceling kills the command it runs too.
    this.shell = spawn('/bin/sh', ['-c', LOOP, 'sh', this.errFile], {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    this.shell.stdout!.setEncoding('utf8');
    this.shell.stdout!.on('data', (chunk: string) => {
      this.output += chunk;
      const end = this.output.indexOf('\n');
      if (end < 0) return;
      const code = Number(this.output.slice(0, end));
      this.output = this.output.slice(end + 1);
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(code);
    });
    const gone = (error?: unknown): void => {
      this.exited = true;
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error ?? new Error('the command shell exited'));
    };
    this.shell.on('error', gone);
    this.shell.on('exit', () => gone());
    this.shell.stdin!.on('error', () => undefined);
  }

  /** Run `argv` (one at a time per runner); canceling kills it and ends the runner. */
  async run(argv: readonly string[], signal?: AbortSignal): Promise<ShellResult> {
    if (this.pending) throw new Error('ShellRunner.run while a command is running');
    if (this.exited) throw new Error('the command shell exited');
    signal?.throwIfAborted();
    const done = new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    const onAbort = (): void => this.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.shell.stdin!.write(`${commandLine(argv)}\n`);
      const exitCode = await done;
      const stderr = exitCode === 0 ? '' : await readFile(this.errFile, 'utf8').catch(() => '');
      return { exitCode, stderr };
    } catch (error) {
      if (signal?.aborted) throw new CanceledError();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stop the shell and what it runs: SIGTERM, then SIGKILL after a grace period. */
  kill(): void {
    if (this.exited || this.shell.pid === undefined) return;
    const group = -this.shell.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return;
    }
    setTimeout(() => {
      try {
        if (!this.exited) process.kill(group, 'SIGKILL');
      } catch {
        // gone already
      }
    }, KILL_GRACE_MS).unref();
  }

  /** End the shell after its current command (it exits at the end of its input). */
  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.shell.once('exit', () => resolve()));
      this.shell.stdin!.end();
      await exited;
    }
    await rm(this.errFile, { force: true });
  }
}

/** Up to `size` runners, handed out one per job and taken back after. */
export class ShellPool {
  private readonly idle: ShellRunner[] = [];
  private readonly all: ShellRunner[] = [];

  /** Run `argv` in an idle runner, starting one if none is idle. */
  async run(argv: readonly string[], signal?: AbortSignal): Promise<ShellResult> {
    const runner = this.idle.pop() ?? this.start();
    try {
      const result = await runner.run(argv, signal);
      this.idle.push(runner);
      return result;
    } catch (error) {
      runner.kill();
      throw error;
    }
  }

  private start(): ShellRunner {
    const runner = new ShellRunner();
    this.all.push(runner);
    return runner;
  }

  /** Kill what still runs (after a failure or cancel) and end every shell. */
  async close(): Promise<void> {
    for (const runner of this.all) if (!this.idle.includes(runner)) runner.kill();
    await Promise.all(this.all.map((runner) => runner.close()));
  }
}
