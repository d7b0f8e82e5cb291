/**
 * The Serve panel's state: a small store of its own (one per bridge), fed by
 * the serve job's events, which it takes from the bridge itself (the build
 * slice's router leaves them alone). It holds the interfaces to choose from,
 * the mode, the running server and its live client table.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ErrorInfo, NetbootApi } from '../../electron/shared/ipc.ts';
import { isServeEvent } from '../../electron/shared/ipc.ts';
import type { NetInterface, ServedSystemInfo, ServeClient } from '../../electron/shared/serve.ts';
import { call, newJobId } from './shared.ts';

export type ServeStatus = 'idle' | 'starting' | 'serving' | 'stopping' | 'stopped' | 'error';

export interface ServeState {
  open: boolean;
  interfaces: NetInterface[] | undefined;
  iface: string;
  mode: 'proxy' | 'full';
  rangeStart: string;
  rangeEnd: string;
  status: ServeStatus;
  job: string | undefined;
  /** What runs, exactly, and whether as root through pkexec. */
  command: { text: string; elevated: boolean } | undefined;
  serving:
    { iface: string; address: string; mode: 'proxy' | 'full'; url: string; systems: ServedSystemInfo[] } | undefined;
  clients: ServeClient[];
  notices: string[];
  reason: string | undefined;
  error: ErrorInfo | undefined;
  /** The folders being served. */
  dirs: string[];
  /** The build (the page's outcome) served now: a later build of a served folder waits for Reload. */
  servedBuild: unknown;
  /** Reload asked and not answered yet, with the build it will serve. */
  reloading: { build: unknown } | undefined;
  toggle(): void;
  loadInterfaces(): Promise<void>;
  set(patch: Partial<Pick<ServeState, 'iface' | 'mode' | 'rangeStart' | 'rangeEnd'>>): void;
  /** `build`: the page's outcome now (what the served folder holds). */
  start(dirs: string[], build?: unknown): Promise<void>;
  /** New requests get the folders as they are now. */
  reload(build?: unknown): Promise<void>;
  stop(): void;
}

export type ServeStore = StoreApi<ServeState>;

/** A suggested range for full DHCP: .100 to .199 of the interface's network. */
function suggestRange(i: NetInterface | undefined): { rangeStart: string; rangeEnd: string } {
  const base = i?.network?.split('.').slice(0, 3).join('.');
  return base ? { rangeStart: `${base}.100`, rangeEnd: `${base}.199` } : { rangeStart: '', rangeEnd: '' };
}

/** What one serving run fills in, as it is before a run (and at the start of the next). */
const NO_RUN = {
  job: undefined,
  command: undefined,
  serving: undefined,
  clients: [],
  notices: [],
  reason: undefined,
  error: undefined,
  reloading: undefined,
} satisfies Partial<ServeState>;

export function createServeStore(api: NetbootApi): ServeStore {
  const store = createStore<ServeState>()((set, get) => ({
    open: false,
    interfaces: undefined,
    iface: '',
    mode: 'proxy',
    rangeStart: '',
    rangeEnd: '',
    status: 'idle',
    ...NO_RUN,
    dirs: [],
    servedBuild: undefined,
    toggle() {
      const open = !get().open;
      set({ open });
      if (open && !get().interfaces) void get().loadInterfaces();
    },
    async loadInterfaces() {
      const answer = await call(() => api.serveInterfaces({}));
      if (!answer.ok) return set({ error: answer.error });
      const list = answer.value;
      // The first one up with an address, never "all of them".
      const first = list.find((i) => i.up && i.address) ?? list[0];
      set({ interfaces: list, iface: get().iface || first?.name || '', ...suggestRange(first) });
    },
    set(patch) {
      const next = { ...patch };
      if (patch.iface !== undefined)
        Object.assign(next, suggestRange(get().interfaces?.find((i) => i.name === patch.iface)));
      set(next);
    },
    async start(dirs, build) {
      const { iface, mode, rangeStart, rangeEnd, status } = get();
      if (status === 'starting' || status === 'serving' || status === 'stopping') return;
      const jobId = newJobId('serve');
      set({
        status: 'starting',
        ...NO_RUN,
        job: jobId,
        dirs,
        servedBuild: build,
      });
      const answer = await call(() =>
        api.serveStart({
          jobId,
          dirs,
          iface,
          ...(mode === 'full' ? { range: { start: rangeStart, end: rangeEnd } } : {}),
        }),
      );
      if (get().job !== jobId) return;
      if (answer.ok) set({ status: 'stopped', reason: answer.value.reason });
      else if (answer.error.kind === 'canceled') set({ status: 'stopped' });
      else set({ status: 'error', error: answer.error });
    },
    async reload(build) {
      const { job, status } = get();
      if (!job || status !== 'serving') return;
      set({ reloading: { build } });
      const answer = await call(() => api.serveReload({ jobId: job }));
      if (!answer.ok && get().job === job) set({ reloading: undefined, error: answer.error });
    },
    stop() {
      const { job, status } = get();
      if (!job || (status !== 'serving' && status !== 'starting')) return;
      set({ status: 'stopping' });
      void call(() => api.jobCancel({ jobId: job }));
    },
  }));
  api.addEventListener('job-event', ({ jobId, event }) => {
    const state = store.getState();
    if (jobId !== state.job || !isServeEvent(event)) return;
    if (event.event === 'serve-command') {
      store.setState({ command: { text: event.command, elevated: event.elevated } });
      return;
    }
    const data = event.data;
    switch (data.event) {
      case 'serving':
        store.setState({ status: state.status === 'stopping' ? 'stopping' : 'serving', serving: data });
        break;
      case 'client': {
        const others = state.clients.filter((c) => c.mac !== data.client.mac);
        store.setState({ clients: [...others, data.client].sort((a, b) => a.firstSeen - b.firstSeen) });
        break;
      }
      case 'notice':
        store.setState({
          notices: [...state.notices, data.message].slice(-5),
          ...(data.message.startsWith('Not reloaded') ? { reloading: undefined } : {}),
        });
        break;
      case 'reloaded':
        store.setState({
          ...(state.serving ? { serving: { ...state.serving, systems: data.systems } } : {}),
          ...(state.reloading ? { servedBuild: state.reloading.build } : {}),
          reloading: undefined,
          notices: [...state.notices, 'Reloaded: new requests get the folders as they are now.'].slice(-5),
        });
        break;
      case 'stopped':
        break;
    }
  });
  return store;
}

const stores = new WeakMap<NetbootApi, ServeStore>();

/** A page without the bridge (a component test): a panel that can only say so. */
const NO_BRIDGE = {
  serveInterfaces: async () => ({ ok: false, error: { kind: 'bug', message: 'Serving needs the app.' } }),
  serveStart: async () => ({ ok: false, error: { kind: 'bug', message: 'Serving needs the app.' } }),
  serveReload: async () => ({ ok: false, error: { kind: 'bug', message: 'Serving needs the app.' } }),
  jobCancel: async () => ({ ok: true, value: false }),
  addEventListener: () => undefined,
} as unknown as NetbootApi;

/** The one serve store of this page's bridge. */
export function serveStoreFor(api: NetbootApi = NO_BRIDGE): ServeStore {
  let store = stores.get(api);
  if (!store) {
    store = createServeStore(api);
    stores.set(api, store);
  }
  return store;
}
