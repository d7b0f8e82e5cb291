/**
 * A stand-in for window.netbootComposer in component tests: answers from a
 * table the test fills, records every call, and lets the test push job
 * events as main would. (The browser end-to-end test uses the real handlers.)
 */
import type {
  BuildOutcome,
  InvokeChannel,
  JobEvent,
  NetbootApi,
  RequestOf,
  ResponseOf,
  Result,
  Settings,
  SystemSummary,
} from '../../electron/shared/ipc.ts';
import { defaultBuildOptions, INVOKE_CHANNELS, methodName } from '../../electron/shared/ipc.ts';

export type Answers = {
  [C in InvokeChannel]?: (request: RequestOf<C>) => Result<ResponseOf<C>> | Promise<Result<ResponseOf<C>>>;
};

export interface FakeApi {
  api: NetbootApi;
  calls: Array<{ channel: InvokeChannel; request: unknown }>;
  emit(event: JobEvent): void;
  listeners(): number;
}

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

const SETTINGS: Settings = {
  recent: [],
  options: defaultBuildOptions('x86_64-linux'),
  lastExport: undefined,
  cacheLimitBytes: undefined,
};

const DEFAULTS: Answers = {
  'app:info': () => ok({ version: '0.1.0', platform: 'linux', hostArch: 'x86_64-linux' }),
  'settings:get': () => ok(SETTINGS),
  'settings:set': () => ok(SETTINGS),
  'cache:stats': () => ok({ dir: '/cache', bytes: 0, entries: 0, limitBytes: 8 * 1024 ** 3 }),
  'drives:list': () => ok([]),
  'closure:inspect': () => ok({ facts: { toplevel: '/nix/store/00000000000000000000000000000000-x', nodes: [] } }),
};

export function fakeApi(answers: Answers = {}): FakeApi {
  const calls: FakeApi['calls'] = [];
  const listeners = new Set<(event: JobEvent) => void>();
  const table = { ...DEFAULTS, ...answers } as Record<string, ((r: unknown) => unknown) | undefined>;
  const api: Record<string, unknown> = {};
  for (const channel of INVOKE_CHANNELS) {
    api[methodName(channel)] = async (request: unknown) => {
      calls.push({ channel, request });
      const answer = table[channel];
      if (!answer) return { ok: false, error: { kind: 'bug', message: `no answer for ${channel}` } };
      return answer(request);
    };
  }
  api.addEventListener = (
    _type: string,
    listener: (event: JobEvent) => void,
    options: { signal?: AbortSignal } = {},
  ) => {
    listeners.add(listener);
    options.signal?.addEventListener('abort', () => listeners.delete(listener));
  };
  return {
    api: api as NetbootApi,
    calls,
    emit: (event) => {
      for (const listener of listeners) listener(event);
    },
    listeners: () => listeners.size,
  };
}

export const SUMMARY: SystemSummary = {
  source: { kind: 'demo' },
  system: {
    toplevel: '/nix/store/nb3zb2ic962hbrgi4xqzh8sv4apxn008-nixos-system-demo-25.11',
    name: 'nixos-system-demo-25.11',
    nixosVersion: '25.11',
    system: 'x86_64-linux',
    kernel: '/nix/store/k/bzImage',
    initrd: '/nix/store/i/initrd',
    init: '/nix/store/nb3zb2ic962hbrgi4xqzh8sv4apxn008-nixos-system-demo-25.11/init',
    kernelParams: 'console=ttyS0,115200 panic=1',
  },
  paths: 3,
  closureBytes: 30 * 1024 * 1024,
  kernelBytes: 8 * 1024 * 1024,
  initrdBytes: 1024 * 1024,
};

/** A finished build of {@link SUMMARY}, as main answers build:start. */
export const OUTCOME: BuildOutcome = {
  outDir: '/out',
  files: [{ name: 'bzImage', bytes: 8 * 1024 * 1024 }],
  paths: 3,
  packed: 3,
  reused: 0,
  seconds: 2,
  ramBytes: 90 * 1024 * 1024,
  downloadBytes: 20 * 1024 * 1024,
  script: '#!ipxe\n',
};
