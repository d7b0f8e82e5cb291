import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShellPool, ShellRunner } from '../../../electron/pipeline/compose/shell.ts';
import { commandLine } from '../../../electron/pipeline/base/quote.ts';
import { tempDir } from '../../helpers/fixtures.ts';

describe('the command shell', () => {
  it('quotes every word so the shell reads it back unchanged', () => {
    const words = ['printf', '%s\\n', "it's", 'two words', '$HOME', '`x`', 'ünï', 'a"b', ''];
    const line = commandLine(words);
    const out = execFileSync('/bin/sh', ['-c', `eval "$1"`, 'sh', line], { encoding: 'utf8' });
    expect(out.split('\n').slice(0, -1)).toEqual(words.slice(2));
  });

  it('runs commands one after another, with their exit codes and errors', async () => {
    const dir = await tempDir();
    const runner = new ShellRunner();
    try {
      expect(await runner.run(['sh', '-c', 'echo made > "$1"', 'sh', join(dir, 'a file')])).toEqual({
        exitCode: 0,
        stderr: '',
      });
      expect(await readFile(join(dir, 'a file'), 'utf8')).toBe('made\n');
      expect(await runner.run(['sh', '-c', 'echo "no such thing" >&2; exit 3'])).toEqual({
        exitCode: 3,
        stderr: 'no such thing\n',
      });
      expect((await runner.run(['true'])).exitCode).toBe(0);
    } finally {
      await runner.close();
    }
  });

  it('stops a running command at once when canceled', async () => {
    const pool = new ShellPool();
    const controller = new AbortController();
    const started = performance.now();
    // A duration no other process on the machine sleeps, so the check below sees only ours.
    const seconds = `30.${randomInt(100_000, 999_999)}`;
    const running = pool.run(['sleep', seconds], controller.signal);
    setTimeout(() => controller.abort(), 100);
    await expect(running).rejects.toThrow(/canceled|stopped/i);
    await pool.close();
    expect(performance.now() - started).toBeLessThan(5000);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((line) => line.trim() === `sleep ${seconds}`)).toEqual([]);
  });

  it('ends a canceled run only once its command has ended, even one slow to stop', async () => {
    const ended = join(await tempDir(), 'ended');
    const pool = new ShellPool();
    const controller = new AbortController();
    // Like mksquashfs cleaning up after SIGTERM: 300 ms before it exits.
    const slow = `trap 'sleep 0.3; echo > "$1"; exit 1' TERM; sleep 30 & wait`;
    const running = pool.run(['sh', '-c', slow, 'sh', ended], controller.signal);
    setTimeout(() => controller.abort(), 100);
    await expect(running).rejects.toThrow(/canceled|stopped/i);
    expect(existsSync(ended)).toBe(true);
    await pool.close();
  });
});
