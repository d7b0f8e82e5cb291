import { describe, expect, it } from 'vitest';
import { describeError } from '../../../electron/cli/errors.ts';
import { signalExitCode } from '../../../electron/cli/signals.ts';
import { CanceledError, errorLine, ToolFailedError } from '../../../electron/pipeline/base/errors.ts';
import { checkResult, signalOfShellStatus } from '../../../electron/pipeline/base/tools.ts';

const failed = (all: string, exitCode = 1) => ({ failed: true, isCanceled: false, exitCode, stdout: '', all });
const options = { what: 'nix-store --query --requisites /nix/store/x' };

describe('tool failures', () => {
  it('tells a user without access to Nix how to get it', () => {
    // What nix-store 2.8 prints for a user who may not reach the daemon.
    const output = "error: getting status of '/nix/var/nix/daemon-socket/socket': Permission denied\n";
    expect(() => checkResult(failed(output), 'nix-store', ['-qR'], options)).toThrow(
      /needs its daemon \(sudo systemctl enable --now nix-daemon\) and membership of the nix-users group/,
    );
  });

  it('quotes the line that says why, not the last line of noise', () => {
    const nix =
      "error: attribute 'nope' missing\n\n       at «string»:1:80:\n\n(use '--show-trace' to show detailed location information)\n";
    expect(errorLine(nix)).toBe("attribute 'nope' missing");
    expect(
      errorLine('Parallel mksquashfs: Using 1 processor\nFATAL ERROR: Failed to write to output filesystem\n'),
    ).toBe('Failed to write to output filesystem');
    expect(() =>
      checkResult(failed('some output\nthe reason\n', 3), 'mksquashfs', ['a'], { what: 'mksquashfs of x' }),
    ).toThrow('mksquashfs of x failed (exit code 3): the reason');
  });

  it('says which signal killed a tool, and reads the reason on stderr, not in data on stdout', () => {
    // nix-store --dump-db killed half-way: its stdout is half a registration.
    const dumpDb = {
      failed: true,
      isCanceled: false,
      exitCode: undefined,
      signal: 'SIGSEGV',
      stdout: '/nix/store/a\n0123abcd\n',
      stderr: '',
      all: '/nix/store/a\n0123abcd\n',
    };
    expect(() => checkResult(dumpDb, 'nix-store', ['--dump-db'], { what: 'nix-store --dump-db' })).toThrow(
      /^nix-store --dump-db failed \(killed by SIGSEGV\)\.$/,
    );
    // In a pseudo-terminal everything is on stdout: a line flagged as an error is still found.
    const terminal = { ...dumpDb, signal: undefined, exitCode: 1, stdout: 'x\nFATAL ERROR: no space\n' };
    expect(() => checkResult({ ...terminal, all: terminal.stdout }, 'mksquashfs', [], { what: 'm' })).toThrow(
      'm failed (exit code 1): no space',
    );
    // The shell's own note of the signal adds nothing; control characters and length are kept out.
    expect(
      new ToolFailedError('m', { command: 'm', signal: 'SIGSEGV', output: 'sh: 1: Segmentation fault\n' }).message,
    ).toBe('m failed (killed by SIGSEGV).');
    const noisy = new ToolFailedError('m', {
      command: 'm',
      exitCode: 2,
      output: `error: \u001b[31mbad\u0000${'x'.repeat(500)}`,
    });
    expect(noisy.message).toMatch(/^m failed \(exit code 2\): \?\[31mbad\?x+…$/);
    expect(noisy.message.length).toBeLessThan(240);
  });

  it('reads a signal in the exit status a shell or script -e reports (128 + its number)', () => {
    expect(signalOfShellStatus(139)).toBe('SIGSEGV');
    expect(signalOfShellStatus(137)).toBe('SIGKILL');
    expect(signalOfShellStatus(1)).toBeUndefined();
    expect(signalOfShellStatus(128)).toBeUndefined();
    expect(signalOfShellStatus(255)).toBeUndefined();
    expect(signalOfShellStatus(undefined)).toBeUndefined();
  });

  it('reports a canceled run as canceled, not as a failure', () => {
    expect(() => checkResult({ ...failed('killed'), isCanceled: true }, 'mksquashfs', [], options)).toThrow(
      CanceledError,
    );
  });
});

describe('the CLI’s error report', () => {
  it('gives exit code 2 and a pointer to help for command-line mistakes', () => {
    const unknown = Object.assign(
      new TypeError(
        "Unknown option '--fast'. To specify a positional argument starting with a '-', place it at the end",
      ),
      { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' },
    );
    expect(describeError(unknown)).toEqual({
      message: "Unknown option '--fast'; see netboot-composer help.",
      exitCode: 2,
      bug: false,
    });
    expect(describeError(new CanceledError())).toMatchObject({ exitCode: 130, bug: false });
    expect(describeError(new RangeError('oops'))).toEqual({
      message: 'Unexpected error (a bug in Netboot Composer): oops',
      exitCode: 1,
      bug: true,
    });
  });
});

describe('stop signals', () => {
  it('end the CLI with the code shells report for them', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(signalExitCode('SIGHUP')).toBe(129);
  });
});
