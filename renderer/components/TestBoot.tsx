import { useEffect, useRef, useState } from 'react';
import { FIRMWARES, type Firmware } from '../../electron/shared/types.ts';
import { useApp } from '../context.tsx';
import type { BootRun } from '../store/index.ts';
import { createConsoleTerminal } from '../terminal.ts';
import { ErrorBanner } from './ErrorBanner.tsx';

export const FIRMWARE_LABELS: Record<Firmware, string> = { bios: 'BIOS', uefi: 'UEFI' };

/** 83.4 -> "1:23". */
export function formatElapsed(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Seconds since the boot started, ticking while it runs; fixed once it ended. */
function useElapsed(boot: BootRun): number {
  const [now, setNow] = useState(() => performance.now());
  const running = boot.endedAt === undefined;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(performance.now()), 250);
    return () => clearInterval(timer);
  }, [running]);
  return Math.max(0, ((boot.endedAt ?? now) - boot.startedAt) / 1000);
}

/** The step header's controls: what to boot, the firmware, and the button. */
export function TestBootControls() {
  // aarch64 machines have UEFI only.
  const aarch64 = useApp((s) => s.summary?.system.system === 'aarch64-linux');
  const chosen = useApp((s) => s.bootFirmware);
  const firmware = aarch64 ? 'uefi' : chosen;
  const setFirmware = useApp((s) => s.setBootFirmware);
  const bootFrom = useApp((s) => s.bootFrom);
  const setBootFrom = useApp((s) => s.setBootFrom);
  const usbImage = useApp((s) => s.usbImage);
  const running = useApp((s) => s.boot?.status === 'running');
  const startBoot = useApp((s) => s.startBoot);
  return (
    <div className="boot-controls">
      {usbImage ? (
        <select
          aria-label="What to boot"
          value={bootFrom}
          disabled={running}
          onChange={(e) => setBootFrom(e.target.value as 'network' | 'usb')}
        >
          <option value="network">Boot folder, over the network</option>
          <option value="usb">{baseName(usbImage)}, as a USB stick</option>
        </select>
      ) : null}
      <div className="segmented compact" role="radiogroup" aria-label="Firmware">
        {FIRMWARES.map((f) => (
          <label
            key={f}
            className={firmware === f ? 'selected' : ''}
            title={aarch64 && f !== 'uefi' ? 'aarch64 machines boot through UEFI only' : undefined}
          >
            <input
              type="radio"
              name="firmware"
              value={f}
              checked={firmware === f}
              disabled={running || (aarch64 && f !== 'uefi')}
              onChange={() => setFirmware(f)}
            />
            {FIRMWARE_LABELS[f]}
          </label>
        ))}
      </div>
      <button
        type="button"
        className="primary"
        disabled={running}
        onClick={() => void startBoot()}
        title="Boot it in QEMU and watch its serial console"
      >
        Test boot
      </button>
    </div>
  );
}

/** The live serial console: a terminal fed by the store, made anew for each boot. */
function ConsoleView() {
  const box = useRef<HTMLDivElement>(null);
  const subscribeConsole = useApp((s) => s.subscribeConsole);
  useEffect(() => {
    const terminal = createConsoleTerminal(box.current!);
    const unsubscribe = subscribeConsole((data) => terminal.write(data));
    return () => {
      unsubscribe();
      terminal.dispose();
    };
  }, [subscribeConsole]);
  return (
    <div className="terminal-frame">
      <div className="terminal" ref={box} role="region" aria-label="Serial console" />
    </div>
  );
}

function BootBanner({ boot, elapsed }: { boot: BootRun; elapsed: number }) {
  switch (boot.status) {
    case 'running':
      return (
        <p className="status" role="status">
          <span className="spinner" aria-hidden="true" />
          {boot.stopping
            ? 'Stopping the VM…'
            : 'Booting in QEMU: waiting for the demo’s marker or a login prompt on the serial console.'}
        </p>
      );
    case 'passed': {
      const result = boot.result!;
      return (
        <div className="banner banner-success boot-banner" role="status">
          <div>
            <p>
              <strong>PASS</strong>: the guest printed <code className="matched">{result.reason}</code>
            </p>
            <p className="muted">
              {FIRMWARE_LABELS[result.firmware]}, {result.accel.toUpperCase()}, {result.memoryMiB} MiB of RAM, in{' '}
              {result.seconds.toFixed(1)} s.
            </p>
          </div>
        </div>
      );
    }
    case 'failed': {
      const result = boot.result!;
      return (
        <div className="banner banner-error boot-banner" role="alert">
          <p>
            <strong>FAIL</strong>: {result.reason}.
          </p>
          <p className="muted">
            After {result.seconds.toFixed(1)} s ({FIRMWARE_LABELS[result.firmware]}, {result.accel.toUpperCase()},{' '}
            {result.memoryMiB} MiB of RAM). The last lines are in the console below.
          </p>
        </div>
      );
    }
    case 'stopped':
      return (
        <div className="banner banner-info" role="status">
          <p>Stopped after {formatElapsed(elapsed)}; the VM is gone.</p>
        </div>
      );
    case 'error':
      return <ErrorBanner error={boot.error!} title="The test boot did not start" />;
  }
}

/** The console panel: what is booting, how long, KVM or TCG and why, Stop, the verdict, the console. */
export function TestBootPanel() {
  const boot = useApp((s) => s.boot);
  const open = useApp((s) => s.consoleOpen);
  if (!open || !boot) return null;
  return <Panel boot={boot} />;
}

function Panel({ boot }: { boot: BootRun }) {
  const stopBoot = useApp((s) => s.stopBoot);
  const closeConsole = useApp((s) => s.closeConsole);
  const elapsed = useElapsed(boot);
  const running = boot.status === 'running';
  const stopButton = useRef<HTMLButtonElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  // Keyboard users land on the one thing to do next: Stop while it runs, Close once it ended.
  useEffect(() => {
    if (running) stopButton.current?.focus();
    else if (document.activeElement === document.body || document.activeElement === null) closeButton.current?.focus();
  }, [running, boot.job]);

  return (
    <section className="card console-card" aria-labelledby="console-title">
      <div className="console-bar">
        <h3 id="console-title">Test boot</h3>
        <span className="badge">
          {FIRMWARE_LABELS[boot.firmware]} ·{' '}
          {boot.medium === 'usb' ? `${baseName(boot.image ?? '')} as a USB stick` : 'netboot'}
          {boot.memoryMiB ? ` · ${boot.memoryMiB} MiB` : ''}
        </span>
        <span className="elapsed" role="timer" aria-label="Elapsed time">
          {formatElapsed(elapsed)}
        </span>
        <span className="spacer" />
        {running ? (
          <button ref={stopButton} type="button" className="danger" disabled={boot.stopping} onClick={() => stopBoot()}>
            {boot.stopping ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <button ref={closeButton} type="button" onClick={() => closeConsole()}>
            Close
          </button>
        )}
      </div>
      {boot.accel ? (
        <p className={boot.accel.kvmFailure ? 'accel accel-fallback' : 'accel'} data-testid="accel">
          <strong>{boot.accel.accel.toUpperCase()}</strong>
          <span className="muted">: {boot.accel.why}</span>
        </p>
      ) : running ? (
        <p className="accel muted" data-testid="accel">
          Choosing KVM or TCG…
        </p>
      ) : null}
      <BootBanner boot={boot} elapsed={elapsed} />
      <ConsoleView key={boot.job} />
    </section>
  );
}
