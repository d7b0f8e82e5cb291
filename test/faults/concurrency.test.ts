/**
 * Two writers, one target: two builds into one boot folder, two exports into
 * one folder or one USB image, the app and the CLI into one boot folder.
 * The second waits for the first (its lock, across processes) and says so,
 * naming the folder and the other's pid; both end well and the folder is
 * whole. A lock of a dead process is taken over; a live one that stays is
 * refused after NETBOOT_COMPOSER_LOCK_WAIT seconds in one sentence, and a
 * stop signal ends the wait. No lock file is left.
 *
 * The first writer is stopped (SIGSTOP) as soon as it holds the lock, so
 * that the second always finds it held, whatever the machine's speed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootFolderFor, type Sender } from '../../electron/main/handlers.ts';
import { LOCK_NAME } from '../../electron/pipeline/media/record.ts';
import { JOB_EVENT_CHANNEL, type JobEvent } from '../../electron/shared/ipc.ts';
import { folderState } from '../helpers/faults.ts';
import { recordFigures } from '../helpers/figures.ts';
import { buildFixture, CLI, jsonEvents, tempDir } from '../helpers/fixtures.ts';
import { testHandlers } from '../helpers/main-handlers.ts';

const cases: string[] = [];

/** A CLI run: its output so far, a wait for a line, and its end. */
class Run {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.waiters = this.waiters.filter((w) => !(w.pattern.test(this.stdout) && (w.resolve(), true)));
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const limit = setTimeout(() => this.child.kill('SIGKILL'), 120_000);
    this.ended = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        clearTimeout(limit);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once stdout matches `pattern`; rejects if the process ends first. */
  async waitFor(pattern: RegExp): Promise<void> {
    if (pattern.test(this.stdout)) return;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push({ pattern, resolve })),
      this.ended.then(() => {
        if (!pattern.test(this.stdout)) throw new Error(`ended without ${pattern}:\n${this.stdout}\n${this.stderr}`);
      }),
    ]);
  }

  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    const ended = await this.ended;
    return { ...ended, stdout: this.stdout, stderr: this.stderr };
  }
}

function waiting(pid: number, what: string): string {
  return `Another Netboot Composer process (pid ${pid}) is writing ${what}: waiting for it to finish.`;
}

/** The first JSON line: by then a build or an export holds its lock (OutDir.open comes first). */
const FIRST_EVENT = /^\{.*\n/;

/**
 * Run `first` until it holds the lock, stop it, start `second`, and check
 * that the second waits, saying so, and writes nothing meanwhile; then let
 * the first go on. Both must end well.
 */
async function takeTurns(
  first: string[],
  second: string[],
  what: string,
  lock: string,
): Promise<{ first: Awaited<ReturnType<Run['end']>>; second: Awaited<ReturnType<Run['end']>> }> {
  const one = new Run(first);
  await one.waitFor(FIRST_EVENT);
  one.child.kill('SIGSTOP');
  try {
    const two = new Run(second);
    await two.waitFor(new RegExp(`"event":"log","message":"${escape(waiting(one.pid, what))}"`));
    // While it waits, the lock is the first one's.
    expect(await readFile(lock, 'utf8')).toBe(String(one.pid));
    one.child.kill('SIGCONT');
    const [a, b] = [await one.end(), await two.end()];
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    return { first: a, second: b };
  } finally {
    one.child.kill('SIGCONT');
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let system: string;
let boot: string;

beforeAll(async () => {
  system = await buildFixture({ variant: 'b', bigPaths: 2, bigMiB: 8 });
  boot = await tempDir();
  const built = new Run(['build', '--toplevel', system, '--out', boot, '--cache', await tempDir(), '--json']);
  expect((await built.end()).code).toBe(0);
});

afterAll(async () => {
  await recordFigures(
    'faults-concurrency',
    [
      { what: 'concurrency cases', value: cases.length },
      {
        what: 'concurrency cases, each: the second waits and says so, both end well, the folder whole, no lock left',
        value: cases.join('; '),
      },
    ],
    [
      'Two processes on two machines writing one folder over NFS: the lock holds a pid, which means nothing on another machine.',
      'The lock is held for a whole build, so a second build into the same folder waits for all of the first (minutes for a big system with an empty cache), then finds every file current.',
      'A lock file whose pid was reused by an unrelated live process is waited for (up to NETBOOT_COMPOSER_LOCK_WAIT, 30 minutes by default) instead of taken over.',
    ],
  );
});

describe('two writers, one target', () => {
  it('two builds of one system into one folder: the second waits, naming the folder and the first one’s pid, then finds every file current', async () => {
    const out = join(await tempDir(), 'boot');
    const cache = await tempDir();
    const args = ['build', '--toplevel', system, '--out', out, '--cache', cache, '--json'];
    const { second } = await takeTurns(args, args, out, join(out, LOCK_NAME));
    const files = jsonEvents(second.stdout).filter((e) => e.event === 'file');
    expect(files.length).toBe(5);
    expect(files.every((e) => e.reused === true)).toBe(true);
    const state = await folderState(out);
    expect(state.files).toEqual((await folderState(boot)).files);
    expect(state.hidden).toEqual([]);
    cases.push('two builds into one boot folder');
  });

  it('two exports into one folder: the second waits and says so; the export is whole, no lock left', async () => {
    const target = join(await tempDir(), 'export');
    const args = ['export', '--from', boot, '--folder', target, '--json'];
    await takeTurns(args, args, target, join(target, LOCK_NAME));
    const state = await folderState(target);
    expect(state.files).toEqual((await folderState(boot)).files);
    expect(state.hidden).toEqual([]);
    cases.push('two folder exports into one folder');
  });

  it('two exports into one TFTP root: the second waits and says so', async () => {
    const root = join(await tempDir(), 'tftp');
    const args = ['export', '--from', boot, '--tftp', root, '--subdir', 'demo', '--json'];
    await takeTurns(args, args, root, join(root, LOCK_NAME));
    expect((await folderState(root)).hidden).toEqual([]);
    cases.push('two TFTP exports into one root');
  });

  it('two USB images into one file: the second waits and says so; one whole image, nothing beside it', async () => {
    const folder = await tempDir();
    const image = join(folder, 'netboot.img');
    const args = ['export', '--from', boot, '--usb-image', image, '--json'];
    await takeTurns(args, args, image, join(folder, '.netboot.img.lock'));
    expect(await readdir(folder)).toEqual(['netboot.img']);
    const listing = execFileSync('mdir', ['-b', '-i', `${image}@@1M`, '::/'], {
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
      encoding: 'utf8',
    });
    expect(listing).toContain('nix-store');
    cases.push('two USB image exports into one file');
  });

  it('the app and the CLI into one boot folder: the app’s build job waits, says so in its log, and both end well', async () => {
    const userDataDir = await tempDir();
    const cacheDir = await tempDir();
    const source = { kind: 'toplevel' as const, path: system };
    const out = bootFolderFor(userDataDir, source);
    const events: JobEvent[] = [];
    const sender: Sender = {
      id: 1,
      send: (channel, payload) => {
        if (channel === JOB_EVENT_CHANNEL) events.push(payload as JobEvent);
      },
      isDestroyed: () => false,
    };
    const handlers = await testHandlers({ userDataDir, cacheDir });
    const cli = new Run(['build', '--toplevel', system, '--out', out, '--cache', cacheDir, '--json']);
    await cli.waitFor(FIRST_EVENT);
    cli.child.kill('SIGSTOP');
    try {
      const job = handlers.call(
        'build:start',
        {
          jobId: 'job-1',
          source,
          options: {
            arch: 'x86_64-linux',
            squashfs: { name: 'gzip', level: 1 },
            initrd: { name: 'none' },
            kernelParams: '',
          },
        },
        sender,
      );
      const message = waiting(cli.pid, out);
      for (let i = 0; i < 600 && !events.some((e) => e.event.event === 'log' && e.event.message === message); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(events.map((e) => e.event)).toContainEqual({ event: 'log', message });
      cli.child.kill('SIGCONT');
      expect((await cli.end()).code).toBe(0);
      const answer = await job;
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
    } finally {
      cli.child.kill('SIGCONT');
    }
    const state = await folderState(out);
    expect(state.hidden).toEqual([]);
    cases.push('the app and the CLI into one boot folder');
  });

  it('takes over the lock of a dead process without waiting, and leaves no lock', async () => {
    const out = join(await tempDir(), 'boot');
    execFileSync('cp', ['-a', boot, out]);
    // The pid of a process that has ended.
    const dead = spawn('true');
    await new Promise((resolve) => dead.on('exit', resolve));
    await writeFile(join(out, LOCK_NAME), String(dead.pid));
    const run = new Run(['build', '--toplevel', system, '--out', out, '--cache', await tempDir(), '--json']);
    const { code, stdout } = await run.end();
    expect(code).toBe(0);
    expect(stdout).not.toContain('waiting for it to finish');
    expect((await folderState(out)).hidden).toEqual([]);
    cases.push('a lock of a dead process taken over');
  });

  it('refuses in one sentence after NETBOOT_COMPOSER_LOCK_WAIT when the other does not finish, leaving its lock and the folder alone', async () => {
    const out = join(await tempDir(), 'boot');
    execFileSync('cp', ['-a', boot, out]);
    // This test process holds the lock: alive, and never finishing.
    await writeFile(join(out, LOCK_NAME), String(process.pid));
    const before = await folderState(out);
    const args = ['build', '--toplevel', system, '--out', out, '--cache', await tempDir()];
    const started = Date.now();
    const refused = await new Run(args, { NETBOOT_COMPOSER_LOCK_WAIT: '1' }).end();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: Another Netboot Composer process (pid ${process.pid}) is still writing ${out} after 1 s; wait for it to finish, or choose another folder with --out.\n`,
    );
    expect(refused.stdout).toContain(`  ${waiting(process.pid, out)}\n`);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await folderState(out)).toEqual(before);

    // A stop signal ends the wait at once, and the other's lock stays.
    const stopped = new Run([...args, '--json']);
    await stopped.waitFor(/waiting for it to finish/);
    stopped.child.kill('SIGTERM');
    const end = await stopped.end();
    expect(end.code).toBe(143);
    expect(await folderState(out)).toEqual(before);
    await rm(join(out, LOCK_NAME));
    cases.push('a live lock refused after the wait; a stop signal while waiting');
  });
});
