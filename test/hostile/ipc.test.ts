/**
 * Hostile input at the app's door: every IPC channel gets payloads generated
 * by fast-check (wrong types, huge strings, NUL bytes, relative and `..`
 * paths, unknown keys, `__proto__` / `constructor` / `prototype` keys, values
 * the contract does not allow) and requests from frames that are not ours.
 * Each must be refused before a handler runs, with one log line saying the
 * channel and why (never the payload); valid payloads must still get through.
 *
 * The handlers behind the router are a recorder: reaching it with a payload
 * that should have been refused fails the test. That is the assertion: that
 * nothing ran. The second half runs electron/main/main.ts itself (Electron
 * mocked, as in test/main/main.test.ts) so that its own `isTrusted` judges
 * senders whose frame shows another page.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIpcRouter, type RequestEvent } from '../../electron/main/ipc.ts';
import { MainHandlers, type Sender } from '../../electron/main/handlers.ts';
import { INITRD_LEVELS, SQUASHFS_LEVELS } from '../../electron/shared/compression.ts';
import { INVOKE_CHANNELS, type InvokeChannel, type Result } from '../../electron/shared/ipc.ts';
import { ARCHES, FIRMWARES, INITRD_COMPRESSORS, SQUASHFS_COMPRESSORS } from '../../electron/shared/types.ts';
import { recordFigures } from '../helpers/figures.ts';
import { tempDir } from '../helpers/fixtures.ts';
import * as electron from '../mocks/electron.ts';

vi.mock('electron', () => import('../mocks/electron.ts'));

/** Runs per property: enough to reach every field of every channel many times, in about a second. */
const RUNS = 250;

// ---------------------------------------------------------------------------
// Valid payloads, per channel, as the contract (electron/shared/ipc.ts) allows.

const jobId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
/** A folder or file name a person might have: spaces, dots, dashes, quotes, $, non-ASCII; never . or .. */
const segment = fc.stringMatching(/^[A-Za-z0-9 _.,'$()+=@~é-]{1,24}$/).filter((part) => part !== '.' && part !== '..');
const absolutePath = fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
/** Kernel parameters a person may type: metacharacters inside words are fine (see kernel-params.ts). */
const paramWord = fc
  .stringMatching(/^[A-Za-z0-9_.,:=/$;&|<>()*!?~%@{}[\]+-]{1,24}$/)
  .filter((word) => !word.startsWith('#') && !['&&', '||', ';'].includes(word) && !word.startsWith('initrd='));
const kernelParams = fc.array(paramWord, { maxLength: 8 }).map((words) => words.join(' '));

function compression<N extends string>(
  names: readonly N[],
  levels: Record<N, { min: number; max: number } | undefined>,
) {
  return fc.constantFrom(...names).chain((name) => {
    const range = levels[name];
    return range === undefined
      ? fc.constant({ name })
      : fc
          .option(fc.integer({ min: range.min, max: range.max }), { nil: undefined })
          .map((level) => (level === undefined ? { name } : { name, level }));
  });
}

const source = fc.oneof(
  absolutePath.map((path) => ({ kind: 'toplevel', path })),
  fc.record({
    kind: fc.constant('flake'),
    ref: fc.oneof(absolutePath, fc.constantFrom('github:me/infra', '.', 'git+https://example.org/x.git?ref=main')),
    name: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.'-]{0,30}$/),
  }),
  fc.constant({ kind: 'demo' }),
);
const buildOptions = fc.record({
  arch: fc.constantFrom(...ARCHES),
  squashfs: compression(SQUASHFS_COMPRESSORS, SQUASHFS_LEVELS),
  initrd: compression(INITRD_COMPRESSORS, INITRD_LEVELS),
  kernelParams,
});
const subdir = fc.array(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,15}$/), { minLength: 1, maxLength: 3 });
const exportSpec = fc.oneof(
  absolutePath.map((dir) => ({ kind: 'folder', dir })),
  fc.record(
    { kind: fc.constant('tftp'), dir: absolutePath, subdir: subdir.map((parts) => parts.join('/')) },
    { requiredKeys: ['kind', 'dir'] },
  ),
  fc.record({
    kind: fc.constant('http'),
    dir: absolutePath,
    baseUrl: fc.constantFrom('http://192.168.1.10/netboot/', 'https://boot.lan', 'http://${next-server}/nb'),
  }),
  absolutePath.map((dir) => ({ kind: 'usb', dir })),
  absolutePath.map((file) => ({ kind: 'usb-image', file })),
);
const empty = fc.constant({});

const VALID: { [C in InvokeChannel]: fc.Arbitrary<Record<string, unknown>> } = {
  'app:info': empty,
  'closure:inspect': fc.oneof(fc.record({ dir: absolutePath }), fc.record({ toplevel: absolutePath })),
  'system:resolve': fc.record({ jobId, source }),
  'flake:list': fc.record({ jobId, ref: fc.oneof(absolutePath, fc.constant('github:me/infra')) }),
  'build:start': fc.record({ jobId, source, options: buildOptions }),
  'job:cancel': fc.record({ jobId }),
  'export:start': fc.record({ jobId, from: absolutePath, spec: exportSpec }),
  'boot:start': fc.record(
    { jobId, dir: absolutePath, firmware: fc.constantFrom(...FIRMWARES), usbImage: absolutePath },
    { requiredKeys: ['jobId', 'dir', 'firmware'] },
  ),
  'drives:list': empty,
  'dialog:choose-folder': fc.record(
    {
      purpose: fc.constantFrom('flake', 'system', 'export', 'tftp', 'http', 'usb'),
      defaultPath: absolutePath,
    },
    { requiredKeys: ['purpose'] },
  ),
  'dialog:choose-file': fc.record(
    { purpose: fc.constant('usb-image'), defaultPath: absolutePath },
    { requiredKeys: ['purpose'] },
  ),
  'shell:show-folder': fc.record({ path: absolutePath }),
  'clipboard:write': fc.record({ text: fc.string({ unit: 'grapheme', maxLength: 200 }) }),
  'settings:get': empty,
  'settings:set': fc.record(
    {
      options: buildOptions,
      lastExport: exportSpec,
      cacheLimitBytes: fc.integer({ min: 64 * 1024 ** 2, max: 2 ** 40 }),
    },
    { requiredKeys: [] },
  ),
  'cache:stats': empty,
  'cache:prune': fc.record({ maxBytes: fc.integer({ min: 0, max: 2 ** 40 }) }, { requiredKeys: [] }),
  'serve:interfaces': empty,
  'serve:start': fc.record(
    {
      jobId,
      dirs: fc.array(absolutePath, { minLength: 1, maxLength: 3 }),
      iface: fc.constantFrom('eth0', 'br0', 'enp3s0'),
      range: fc.constant({ start: '10.0.0.100', end: '10.0.0.199' }),
    },
    { requiredKeys: ['jobId', 'dirs', 'iface'] },
  ),
  'serve:reload': fc.record({ jobId }),
};

// ---------------------------------------------------------------------------
// Hostile payloads: a valid one with one thing made wrong, by what the field is.

/** Shared, not generated: a 5 MB string costs a copy, not a generation. */
const HUGE = 'A'.repeat(5_000_000);
const HUGE_PATH = `/${'a/'.repeat(2_000_000)}x`;
const NUL = 'x\0y';

/** What is wrong for a field, by its name (the contract's rules, not the schema's). */
const BAD_BY_KEY: Record<string, readonly unknown[]> = {
  jobId: ['', 'a b', 'x'.repeat(65), NUL, '../x', 'a\nb', HUGE, 'é'],
  path: ['relative/path', 'result', '', '/a/../etc', '/a/./b', `/tmp/${NUL}`, '/x\nkernel evil', HUGE_PATH, '..'],
  dir: ['out', '', './x', '/srv/../etc', `/srv/${NUL}`, '/srv/tftp\ndhcp-script=/tmp/x', HUGE_PATH, '-rf'],
  file: ['x.img', '', '/a/../b.img', `/a${NUL}.img`, HUGE_PATH],
  from: ['result', '', '/a/../../etc', `/a${NUL}`, HUGE_PATH],
  usbImage: ['x.img', '', `/x${NUL}`, '/../x.img', HUGE_PATH],
  defaultPath: ['home', '', `/h${NUL}`, '/a/..', HUGE_PATH],
  ref: ['', `github:a/b${NUL}`, 'x\ny', HUGE],
  name: ['', '-x', '.hidden', 'a b', 'a;b', 'a$b', `a${NUL}`, 'a\nb', HUGE],
  kernelParams: [
    'a\nkernel http://evil/x',
    'a\rb',
    `a${NUL}`,
    'a ; chain http://evil',
    'a && shell',
    '|| x',
    '#x',
    'a "b',
    'initrd=/evil',
    HUGE,
  ],
  subdir: ['..', '../etc', '/abs', '-rf', 'a//b', '.hidden', 'a b', `a${NUL}`, 'a\nb', HUGE],
  baseUrl: [
    '',
    'ftp://x/',
    'http://x/a b',
    'http://x/?q',
    'http://x/#',
    'http://x/\nboot',
    `http://x/${NUL}`,
    'file:///etc',
    HUGE,
  ],
  text: ['x'.repeat(1_000_001)],
  purpose: ['', 'anything', 'usb-image ', 'FLAKE'],
  kind: ['', 'floppy', 'toplevel ', 'DEMO', 'nfs'],
  arch: ['', 'i686-linux', 'x86_64-darwin', 'X86_64-LINUX'],
  firmware: ['', 'coreboot', 'BIOS'],
  level: [-1, 1.5, 23, 100, Number.NaN, Number.POSITIVE_INFINITY, '9'],
  maxBytes: [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, '1G'],
  cacheLimitBytes: [0, 1024, -1, 1.5, Number.NaN, 2 ** 60, '5G'],
};

/** Every field name of the contract: an "unknown" key is none of them. */
const KNOWN_KEYS = new Set([
  ...Object.keys(BAD_BY_KEY),
  'source',
  'options',
  'squashfs',
  'initrd',
  'spec',
  'lastExport',
]);
/** Keys no request has, and those that pollute prototypes when merged naively. */
const POLLUTING = ['__proto__', 'constructor', 'prototype'];
const unknownKey = fc
  .oneof(
    fc.constantFrom(...POLLUTING, 'expect', 'recent', 'to', 'target', 'toString', 'hasOwnProperty'),
    fc.stringMatching(/^[a-zA-Z_$][\w$]{0,12}$/),
  )
  .filter((key) => !KNOWN_KEYS.has(key));
/** Values of every type, for type confusion. */
const anyValue = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);

type Json = Record<string, unknown>;

/** Every place in `value` (a path of keys) holding a leaf or an object. */
function places(value: unknown, at: string[] = []): { path: string[]; leaf: unknown }[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ path: at, leaf: value }];
  const here = [{ path: at, leaf: value }];
  return [...here, ...Object.entries(value).flatMap(([key, inner]) => places(inner, [...at, key]))];
}

function deepCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function setAt(root: Json, path: string[], value: unknown): Json {
  const copy = deepCopy(root);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  node[path.at(-1)!] = value;
  return copy;
}

/** Whether `value` is of the JSON type of `like` (same typeof, null and array apart). */
function sameType(value: unknown, like: unknown): boolean {
  const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  return kind(value) === kind(like);
}

/** How a valid payload was made hostile: a label (for the log) and the payload. */
interface Hostile {
  how: string;
  payload: unknown;
}

/** One valid payload of `channel` made wrong in one of the ways above. */
function hostile(channel: InvokeChannel): fc.Arbitrary<Hostile> {
  return VALID[channel].chain((valid) => {
    const all = places(valid);
    const leaves = all.filter((p) => p.path.length > 0 && (typeof p.leaf !== 'object' || p.leaf === null));
    const objects = all.filter((p) => typeof p.leaf === 'object' && p.leaf !== null);
    const options: fc.Arbitrary<Hostile>[] = [
      // Not an object at all (null and undefined count as {}: the channels without fields take them).
      fc
        .oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.anything(), { maxLength: 3 }))
        .map((payload) => ({ how: 'not an object', payload })),
      // An unknown key, on the request or any object inside it.
      fc.tuple(fc.constantFrom(...objects), unknownKey, anyValue).map(([place, key, value]) => {
        // A computed key, then JSON.parse: "__proto__" stays an own key, as a structured clone over IPC keeps it.
        const inner = JSON.parse(JSON.stringify({ ...(place.leaf as Json), [key]: value })) as Json;
        return {
          how: `unknown key ${key}`,
          payload: place.path.length === 0 ? inner : setAt(valid, place.path, inner),
        };
      }),
      // A polluting key holding what would poison every object.
      fc.constantFrom(...POLLUTING).map((key) => {
        const rest = JSON.stringify(valid).slice(1, -1);
        const text = `{${JSON.stringify(key)}: {"polluted": true, "isAdmin": true}${rest ? `, ${rest}` : ''}}`;
        return { how: `${key} key`, payload: JSON.parse(text) as unknown };
      }),
    ];
    if (leaves.length > 0) {
      // A field of the wrong type.
      options.push(
        fc
          .tuple(fc.constantFrom(...leaves), anyValue)
          .filter(([place, value]) => !sameType(value, place.leaf))
          .map(([place, value]) => ({
            how: `${place.path.join('.')} of the wrong type`,
            payload: setAt(valid, place.path, value),
          })),
      );
      // A field given a value its rule refuses (huge, NUL, relative, .., metacharacters...).
      const ruled = leaves.filter((p) => BAD_BY_KEY[p.path.at(-1)!] !== undefined);
      if (ruled.length > 0) {
        options.push(
          fc.constantFrom(...ruled).chain((place) =>
            fc.constantFrom(...BAD_BY_KEY[place.path.at(-1)!]!).map((bad) => ({
              how: `${place.path.join('.')} = ${typeof bad === 'string' ? JSON.stringify(bad.slice(0, 24)) : String(bad)}`,
              payload: setAt(valid, place.path, bad),
            })),
          ),
        );
      }
      // A required field left out.
      const optional = ['usbImage', 'defaultPath', 'maxBytes', 'cacheLimitBytes'];
      const required = leaves.filter((p) => p.path.length === 1 && !optional.includes(p.path[0]!));
      if (required.length > 0) {
        options.push(
          fc.constantFrom(...required).map((place) => {
            const copy = deepCopy(valid);
            delete copy[place.path[0]!];
            return { how: `${place.path[0]} missing`, payload: copy };
          }),
        );
      }
    }
    return fc.oneof(...options);
  });
}

// ---------------------------------------------------------------------------
// The router with a recording stand-in for the handlers.

const sender: Sender = { id: 1, send: () => undefined, isDestroyed: () => false };

/** Handlers that record every call; `allowed` says whether reaching them is fine for this payload. */
function recorder() {
  const calls: { channel: string; request: unknown }[] = [];
  let allowed = false;
  const handlers = {
    call: async (channel: string, request: unknown) => {
      calls.push({ channel, request });
      if (!allowed) throw new Error(`a handler ran for a payload that should have been refused (${channel})`);
      return { ok: true, value: null } as Result<null>;
    },
  } as unknown as MainHandlers;
  return {
    handlers,
    calls,
    allow(value: boolean) {
      allowed = value;
    },
  };
}

const tried = new Map<string, { tried: number; rejected: number }>();
const figures = {
  valid: 0,
  validAccepted: 0,
  foreign: 0,
  foreignRefused: 0,
  logged: 0,
  longestLogLine: 0,
  mainForeign: 0,
  mainForeignRefused: 0,
};
const gaps: string[] = [];

function count(channel: string, rejected: boolean): void {
  const row = tried.get(channel) ?? { tried: 0, rejected: 0 };
  row.tried++;
  if (rejected) row.rejected++;
  tried.set(channel, row);
}

afterAll(async () => {
  const total = [...tried.values()].reduce(
    (s, r) => ({ tried: s.tried + r.tried, rejected: s.rejected + r.rejected }),
    {
      tried: 0,
      rejected: 0,
    },
  );
  await recordFigures(
    'hostile-ipc',
    [
      { what: 'IPC channels fuzzed', value: INVOKE_CHANNELS.length },
      { what: 'hostile requests tried (bad payloads, foreign frames, unknown channels)', value: total.tried },
      { what: 'hostile requests rejected before a handler ran', value: total.rejected },
      ...INVOKE_CHANNELS.map((channel) => {
        const row = tried.get(channel) ?? { tried: 0, rejected: 0 };
        return { what: `${channel}: hostile requests rejected of tried`, value: `${row.rejected} of ${row.tried}` };
      }),
      {
        what: 'valid generated payloads that reached the handler',
        value: `${figures.validAccepted} of ${figures.valid}`,
      },
      {
        what: 'requests from a frame that is not ours (router) refused',
        value: `${figures.foreignRefused} of ${figures.foreign}`,
      },
      {
        what: 'requests from foreign windows or pages refused by main.ts’s own isTrusted',
        value: `${figures.mainForeignRefused} of ${figures.mainForeign}`,
      },
      { what: 'refusals logged (one line each: channel and reason)', value: figures.logged },
      { what: 'longest refusal log line (characters)', value: figures.longestLogLine },
    ],
    [
      'Payloads are checked for shape and text rules only: whether a valid path exists, or is a folder the person meant, is up to the handler (an export then refuses system folders and links).',
      'Electron itself (structured clone, contextIsolation, the real senderFrame) is mocked: the Electron binary cannot run here.',
      ...gaps,
    ],
  );
});

describe('the IPC door, fuzzed', () => {
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };

  it.each(INVOKE_CHANNELS.map((c) => [c]))(
    '%s: refuses every hostile payload before a handler runs, and logs the channel and why in one short line',
    async (channel) => {
      const { handlers, calls } = recorder();
      const router = createIpcRouter(handlers, () => true, log);
      await fc.assert(
        fc.asyncProperty(hostile(channel), async ({ how, payload }) => {
          const before = lines.length;
          calls.length = 0;
          const answer = await router(channel, { sender }, payload);
          count(channel, !answer.ok && calls.length === 0);
          expect(answer.ok, `${channel}: ${how}`).toBe(false);
          expect(calls, `${channel}: ${how}`).toEqual([]);
          expect(lines.length, 'one log line per refusal').toBe(before + 1);
          const line = lines.at(-1)!;
          figures.logged++;
          figures.longestLogLine = Math.max(figures.longestLogLine, line.length);
          expect(line).toContain(`"${channel}"`);
          expect(line.length).toBeLessThan(600);
          expect(line).not.toMatch(/A{100}|(a\/){100}|x{100}/);
          expect(line).not.toContain('\n');
          // Nothing was polluted on the way.
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { numRuns: RUNS },
      );
    },
  );

  it.each(INVOKE_CHANNELS.map((c) => [c]))(
    '%s: lets every valid payload through, unchanged in meaning',
    async (channel) => {
      const { handlers, calls, allow } = recorder();
      allow(true);
      const router = createIpcRouter(handlers, () => true, log);
      await fc.assert(
        fc.asyncProperty(VALID[channel], async (payload) => {
          figures.valid++;
          const answer = await router(channel, { sender }, payload);
          if (answer.ok) figures.validAccepted++;
          expect(answer, JSON.stringify(payload)).toEqual({ ok: true, value: null });
          expect(calls.at(-1)).toEqual({ channel, request: payload });
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    },
  );

  it('refuses every request, valid or not, from a frame the check does not trust, before a handler runs', async () => {
    const { handlers, calls } = recorder();
    const router = createIpcRouter(handlers, () => false, log);
    const anyRequest = fc.constantFrom(...INVOKE_CHANNELS).chain((channel) =>
      fc.tuple(
        fc.constant(channel),
        fc.oneof(
          VALID[channel],
          hostile(channel).map((h) => h.payload),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(anyRequest, fc.webUrl(), async ([channel, payload], url) => {
        figures.foreign++;
        calls.length = 0;
        const event: RequestEvent = { sender, senderFrame: { url } };
        const answer = await router(channel, event, payload);
        count(channel, !answer.ok && calls.length === 0);
        if (!answer.ok && calls.length === 0) figures.foreignRefused++;
        expect(answer).toMatchObject({
          ok: false,
          error: { message: expect.stringContaining('not Netboot Composer') },
        });
        expect(calls).toEqual([]);
        expect(lines.at(-1)).toMatch(/not our page/);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('refuses channels that are not on the allow-list, and a check that throws counts as not trusted', async () => {
    const { handlers, calls } = recorder();
    const router = createIpcRouter(handlers, () => true, log);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constantFrom('__proto__', 'constructor', 'app:info ', 'job:event', 'shell:open-external', HUGE),
        ),
        async (channel) => {
          fc.pre(!(INVOKE_CHANNELS as readonly string[]).includes(channel));
          calls.length = 0;
          const answer = await router(channel, { sender }, {});
          count('(not a channel)', !answer.ok && calls.length === 0);
          expect(answer.ok).toBe(false);
          expect(lines.at(-1)!.length).toBeLessThan(600);
        },
      ),
      { numRuns: RUNS },
    );
    const throwing = createIpcRouter(
      handlers,
      () => {
        throw new TypeError('Invalid URL');
      },
      log,
    );
    expect((await throwing('app:info', { sender, senderFrame: { url: '::' } }, {})).ok).toBe(false);
    expect(calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// main.ts's own isTrusted, with Electron mocked.

describe('main.ts’s sender check, with foreign frames', () => {
  let window: electron.BrowserWindow;
  let pageUrl: string;
  let calls: string[];
  let warned: string[];

  beforeAll(async () => {
    electron.app.paths.userData = await tempDir('nbc-hostile-ipc-');
    vi.stubEnv('NETBOOT_COMPOSER_CACHE', await tempDir('nbc-hostile-cache-'));
    Object.assign(globalThis, { MAIN_WINDOW_VITE_DEV_SERVER_URL: undefined, MAIN_WINDOW_VITE_NAME: 'main_window' });
    calls = [];
    // Every request that gets past the door is recorded; only app:info may run for real.
    const real = MainHandlers.prototype.call;
    vi.spyOn(MainHandlers.prototype, 'call').mockImplementation(function (this: MainHandlers, channel, request, from) {
      calls.push(channel);
      if (channel !== 'app:info') throw new Error(`${channel} ran`);
      return real.call(this, channel, request, from);
    } as typeof real);
    warned = [];
    vi.spyOn(console, 'warn').mockImplementation((line: string) => void warned.push(line));
    await import('../../electron/main/main.ts');
    await new Promise((resolve) => setTimeout(resolve, 0));
    window = electron.BrowserWindow.all[0]!;
    pageUrl = window.webContents.loadedUrl!;
  });

  function invoke(channel: string, payload: unknown, event: Record<string, unknown>): Promise<Result<unknown>> {
    const handler = electron.ipcMain.handlers.get(channel)!;
    return handler(event, payload) as Promise<Result<unknown>>;
  }

  it('answers our page in our window (the check is not simply "no")', async () => {
    expect(await invoke('app:info', {}, { sender: window.webContents, senderFrame: { url: pageUrl } })).toMatchObject({
      ok: true,
    });
    expect(calls).toEqual(['app:info']);
  });

  it('refuses every channel from another page in our window, our page in another window, or no frame, and logs each', async () => {
    calls.length = 0;
    const page = new URL(pageUrl);
    const otherPages = fc.oneof(
      fc.webUrl(),
      fc.constantFrom(
        'file:///etc/passwd',
        `file://evil-host${page.pathname}`,
        page.href.replace('index.html', 'other.html'),
        `${page.href}/x`,
        'devtools://devtools/bundled/inspector.html',
        'about:blank',
        'data:text/html,<script>1</script>',
        'javascript:alert(1)',
        'not a url',
        '',
      ),
    );
    const from = fc.oneof(
      otherPages.map((url) => ({ who: `page ${url}`, event: { sender: window.webContents, senderFrame: { url } } })),
      fc.constant({
        who: 'our page, another window',
        event: { sender: new electron.MockWebContents(), senderFrame: { url: pageUrl } },
      }),
      fc.constant({ who: 'no frame', event: { sender: window.webContents, senderFrame: null } }),
      fc.constant({ who: 'no sender', event: { sender: null, senderFrame: { url: pageUrl } } }),
    );
    const request = fc
      .constantFrom(...INVOKE_CHANNELS)
      .chain((channel) => fc.tuple(fc.constant(channel), VALID[channel]));
    await fc.assert(
      fc.asyncProperty(from, request, async ({ who, event }, [channel, payload]) => {
        // Our page in our window is ours, however its address is written.
        fc.pre(!(event.sender === window.webContents && event.senderFrame && sameAsPage(event.senderFrame.url, page)));
        figures.mainForeign++;
        calls.length = 0;
        const before = warned.length;
        const answer = await invoke(channel, payload, event);
        count(channel, !answer.ok && calls.length === 0);
        if (!answer.ok && calls.length === 0) figures.mainForeignRefused++;
        expect(answer.ok, `${who} -> ${channel}`).toBe(false);
        expect(calls).toEqual([]);
        expect(warned.length).toBe(before + 1);
        figures.logged++;
        expect(warned.at(-1)).toContain(`"${channel}"`);
      }),
      { numRuns: RUNS },
    );
    expect(calls).toEqual([]);
  });
});

/** Whether `url` names our page (then the check is right to let it through). */
function sameAsPage(url: string, page: URL): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === page.protocol && parsed.host === page.host && parsed.pathname === page.pathname;
  } catch {
    return false;
  }
}
