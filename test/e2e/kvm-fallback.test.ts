/**
 * A KVM that fails mid-boot costs seconds, not the timeout. QEMU is faked
 * here because the KVM we meet in the wild (issue 10: SeaBIOS starts, then
 * `KVM internal error. Suberror: 1` / `emulation failure` in iPXE, and QEMU
 * waits forever, paused) cannot be made on purpose: this machine's KVM fails
 * differently (QEMU aborts on an MSR at once), and most machines' KVM works.
 * The fake, a `qemu-system-x86_64` earlier on PATH, prints QEMU's real words
 * under `-accel kvm` and then hangs as QEMU does; anything else runs the real
 * QEMU, so the TCG boot that follows is real.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { findTool } from '../../electron/pipeline/base/tools.ts';
import { CLI, jsonEvents, qemuProcessesFor, runCli, tempDir } from '../helpers/fixtures.ts';

const BOOT_TIMEOUT = 300_000;

/** QEMU 7.2's output when KVM cannot emulate an instruction in iPXE (as issue 10 reports it). */
const KVM_FAILURE = [
  'KVM internal error. Suberror: 1',
  'extra data[0]: 0x0000000000000001',
  'extra data[1]: 0x00000000c7f20f48',
  'emulation failure',
  'RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000',
  'RIP=000000000009c3a1 RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0',
].join('\n');

let fakeBin: string;
let demo: string;

beforeAll(async () => {
  const real = findTool('qemu-system-x86_64');
  expect(real, 'the real QEMU (qemu-system-x86) must be installed').toBeDefined();
  fakeBin = await tempDir('nbc-fake-qemu-');
  const fake = join(fakeBin, 'qemu-system-x86_64');
  await writeFile(
    fake,
    [
      '#!/bin/sh',
      '# A KVM that starts SeaBIOS and fails in iPXE: QEMU reports it and stays paused.',
      'case " $* " in',
      '*" -accel kvm "*)',
      "  printf 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\\r\\n'",
      "  printf 'iPXE (http://ipxe.org) 00:02.0 C000 PCI2.10 PnP PMM+0EFCF140+0EF0F140 C000\\r\\n'",
      `  cat >&2 <<'EOF'\n${KVM_FAILURE}\nEOF`,
      '  exec sleep 3600',
      '  ;;',
      'esac',
      `exec '${real!}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(fake, 0o755);
  demo = await tempDir();
  expect((await runCli(['build', '--demo', '--out', demo, '--cache', await tempDir(), '--json'])).code).toBe(0);
}, BOOT_TIMEOUT);

/** The environment of a user whose PATH finds the fake QEMU first, with a state dir of their own. */
async function fakeEnv(accel: string): Promise<{ env: Record<string, string>; stateFile: string }> {
  const state = await tempDir();
  return {
    env: {
      PATH: `${fakeBin}${delimiter}${process.env.PATH ?? ''}`,
      XDG_STATE_HOME: state,
      // Empty: the probe decides.
      NETBOOT_COMPOSER_ACCEL: accel,
    },
    stateFile: join(state, 'netboot-composer', 'kvm-probe.json'),
  };
}

/** Run the CLI, noting when each line of its output arrived (ms after the start). */
function runTimed(args: string[], env: Record<string, string>): Promise<{ code: number; lines: [number, string][] }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    const lines: [number, string][] = [];
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) lines.push([Date.now() - started, line]);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, lines }));
  });
}

function devKvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

describe('a KVM that fails mid-boot', () => {
  it(
    'is noticed in seconds: the boot starts again under TCG and passes, the CLI says so in one line, and the machine remembers',
    async () => {
      // As if the probe had said yes (it does on hosts whose KVM fails only later).
      const { env, stateFile } = await fakeEnv('kvm');
      const { code, lines } = await runTimed(['test-boot', '--dir', demo, '--timeout', '200'], env);
      const text = lines.map(([, line]) => line).join('\n');
      expect(text).toContain('  KVM: set by NETBOOT_COMPOSER_ACCEL');
      const fallback = lines.find(([, line]) => line.startsWith('  TCG: KVM failed in this boot'));
      expect(fallback, text).toBeDefined();
      expect(fallback![1]).toBe(
        '  TCG: KVM failed in this boot (KVM internal error. Suberror: 1), so it starts again under TCG; later boots use TCG until QEMU or the kernel changes',
      );
      // Noticed when QEMU said it, not at the 200 s timeout.
      const kvmStarted = lines.find(([, line]) => line.startsWith('  KVM:'))![0];
      expect(fallback![0] - kvmStarted).toBeLessThan(15_000);
      // QEMU's words are in the console lines the CLI shows.
      expect(text).toContain('  | emulation failure');
      expect(text).toMatch(new RegExp(`PASS: the guest printed "${DEMO_MARKER}.*" \\(TCG, \\d+\\.\\d s\\)`));
      expect(code).toBe(0);
      expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({
        kvm: false,
        reason: 'KVM internal error. Suberror: 1',
      });
      expect(qemuProcessesFor(demo)).toEqual([]);

      // The next boot, probing, reads the answer and starts under TCG at once.
      const next = await runCli(
        ['test-boot', '--dir', demo, '--expect', 'iPXE initialising devices', '--timeout', '120', '--json'],
        {
          ...env,
          NETBOOT_COMPOSER_ACCEL: '',
        },
      );
      const events = jsonEvents(next.stdout);
      expect(events.filter((e) => e.event === 'accel')).toEqual([
        {
          event: 'accel',
          accel: 'tcg',
          why: 'KVM cannot run our boots on this machine (KVM internal error. Suberror: 1), so QEMU emulates the CPU (slower)',
        },
      ]);
      expect(events.at(-1)).toMatchObject({ event: 'result', passed: true, accel: 'tcg' });
    },
    BOOT_TIMEOUT,
  );

  it(
    'says so in --json: a second accel event with QEMU’s words, and the result has them too',
    async () => {
      const { env } = await fakeEnv('kvm');
      const { code, stdout } = await runCli(
        ['test-boot', '--dir', demo, '--expect', 'iPXE initialising devices', '--timeout', '120', '--json'],
        env,
      );
      const events = jsonEvents(stdout);
      expect(events.filter((e) => e.event === 'accel')).toEqual([
        { event: 'accel', accel: 'kvm', why: 'set by NETBOOT_COMPOSER_ACCEL' },
        {
          event: 'accel',
          accel: 'tcg',
          why: 'KVM failed in this boot (KVM internal error. Suberror: 1), so it starts again under TCG; later boots use TCG until QEMU or the kernel changes',
          kvmFailure: 'KVM internal error. Suberror: 1',
        },
      ]);
      const result = events.at(-1)!;
      expect(result).toMatchObject({
        event: 'result',
        passed: true,
        accel: 'tcg',
        kvmFailure: 'KVM internal error. Suberror: 1',
      });
      expect(code).toBe(0);
    },
    BOOT_TIMEOUT,
  );

  it(
    'makes the probe say no, in seconds, with QEMU’s words',
    async () => {
      const { env, stateFile } = await fakeEnv('');
      const started = Date.now();
      const { code, stdout } = await runCli(
        ['test-boot', '--dir', demo, '--expect', 'SeaBIOS', '--timeout', '60', '--json'],
        env,
      );
      const accel = jsonEvents(stdout).filter((e) => e.event === 'accel');
      if (devKvmUsable()) {
        expect(accel).toEqual([
          {
            event: 'accel',
            accel: 'tcg',
            why: 'KVM cannot run our boots on this machine (KVM internal error. Suberror: 1), so QEMU emulates the CPU (slower)',
          },
        ]);
        expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({
          kvm: false,
          reason: 'KVM internal error. Suberror: 1',
        });
      } else {
        // Without a usable /dev/kvm there is nothing to probe.
        expect(accel).toEqual([
          { event: 'accel', accel: 'tcg', why: '/dev/kvm is not usable, so QEMU emulates the CPU (slower)' },
        ]);
      }
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(60_000);
    },
    BOOT_TIMEOUT,
  );
});
