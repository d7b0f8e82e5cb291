/**
 * Running our dnsmasq: in the foreground, logging to stderr (which we read
 * line by line for the client table), under a tiny shell that watches our
 * process and stops dnsmasq when we are gone. Linux's PR_SET_PDEATHSIG is
 * out of Node's reach, so the shell polls: a crash of ours (even SIGKILL)
 * leaves no dnsmasq behind for more than a second or so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetbootError } from '../base/errors.ts';
import { requireTool } from '../base/tools.ts';

/** The watchdog: run dnsmasq, stop it when $1 (our pid) is gone or when we are told to stop. */
const WATCHDOG = `
parent=$1; shift
"$@" & d=$!
trap 'kill $d 2>/dev/null; wait $d; exit 0' TERM INT HUP
while kill -0 $parent 2>/dev/null && kill -0 $d 2>/dev/null; do sleep 1; done
kill $d 2>/dev/null
wait $d
`;

export interface RunningDnsmasq {
  child: ChildProcess;
  /** Resolves when the watchdog and dnsmasq are gone: the exit code, and dnsmasq's last line. */
  exited: Promise<{ code: number | null; lastLine: string }>;
  stop(): Promise<void>;
}

/** The words of dnsmasq's own fatal messages, in one sentence of ours. */
export function dnsmasqFailure(line: string, iface: string): string {
  const text = line.replace(/^dnsmasq(-\w+)?(\[\d+\])?: /, '');
  if (/failed to bind DHCP server socket: Address (already )?in use/i.test(text)) {
    return `Another DHCP server on this machine already uses port 67 (${text}); stop it (e.g. the system's dnsmasq, or another Netboot Composer), then serve again.`;
  }
  if (/failed to (bind|create) (TFTP|listening) .*in use/i.test(text) || /TFTP.*in use/i.test(text)) {
    return `Another TFTP server on this machine already uses port 69 (${text}); stop it, then serve again.`;
  }
  if (/permission denied|Operation not permitted/i.test(text)) {
    return `dnsmasq may not open the DHCP and TFTP ports (${text}); run it with sudo.`;
  }
  if (/unknown interface|No such device/i.test(text)) {
    return `The interface ${iface} went away (${text}); pick another one.`;
  }
  return `dnsmasq stopped: ${text || 'it gave no reason'}.`;
}

/** Start dnsmasq with `args`; `onLine` gets each line it logs. Resolves once it runs (its "started" line), or rejects with its reason. */
export async function startDnsmasq(
  args: string[],
  iface: string,
  parentPid: number,
  onLine: (line: string) => void,
): Promise<RunningDnsmasq> {
  const dnsmasq = requireTool('dnsmasq');
  const child = spawn('sh', ['-c', WATCHDOG, 'netboot-composer-serve', String(parentPid), dnsmasq, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lastLine = '';
  let started = false;
  const lines = createInterface({ input: child.stderr! });
  child.stdout!.resume();
  const startedOnce = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      lastLine = line;
      if (!started && /started, version/.test(line)) {
        started = true;
        resolve();
      }
      onLine(line);
    });
  });
  const exited = new Promise<{ code: number | null; lastLine: string }>((resolve) => {
    child.on('error', () => resolve({ code: null, lastLine }));
    child.on('close', (code) => resolve({ code, lastLine }));
  });
  const outcome = await Promise.race([startedOnce.then(() => 'started' as const), exited]);
  if (outcome !== 'started') throw new NetbootError(dnsmasqFailure(outcome.lastLine, iface));
  return {
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
