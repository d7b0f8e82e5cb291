/**
 * Text a person types that ends up in a script or a command line: kernel
 * parameters (netboot.ipxe, syslinux.cfg, grub.cfg), flake references and
 * configuration names (Nix expressions), folder names and the TFTP root
 * (dnsmasq snippets), the HTTP base URL (netboot.ipxe), a TFTP subfolder,
 * and paths in commands we print. Each hostile value is refused in one
 * sentence, or written so that it adds no command: the files written are
 * parsed the way iPXE, GRUB, syslinux and dnsmasq read them (test/hostile/parsers.ts)
 * and their commands counted; Nix and the shell read our quoting back.
 *
 * Then one demo build with a hostile but legal kernel parameter is booted
 * three times: netbooted by iPXE (BIOS), and from its USB image under BIOS
 * (syslinux) and UEFI (GRUB); the demo prints /proc/cmdline, which must hold
 * the parameter as it was typed.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetbootError } from '../../electron/pipeline/base/errors.ts';
import { commandLine, shellQuote } from '../../electron/pipeline/base/quote.ts';
import { Cache } from '../../electron/pipeline/compose/cache.ts';
import { flakeToplevelExpr, nixString, parseFlakeArg } from '../../electron/pipeline/compose/nix.ts';
import { mksquashfsArgs } from '../../electron/pipeline/compose/squashfs.ts';
import { fullDhcpSnippet, proxyDhcpSnippet, type DnsmasqInput } from '../../electron/pipeline/export/dnsmasq.ts';
import { exportTo } from '../../electron/pipeline/export/export.ts';
import { makeUsbImage } from '../../electron/pipeline/export/usb.ts';
import { grubConfig, parseBootScript, syslinuxConfig, USB_FILES } from '../../electron/pipeline/export/usb-layout.ts';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { OutDir } from '../../electron/pipeline/media/out-dir.ts';
import { baseUrlProblem, subdirProblem } from '../../electron/shared/export-spec.ts';
import { ipxeScript, rebaseIpxeScript, type IpxeScriptInput } from '../../electron/shared/ipxe.ts';
import { kernelParamsProblem, kernelParamWords } from '../../electron/shared/kernel-params.ts';
import { recordFigures } from '../helpers/figures.ts';
import { jsonEvents, runCli, tempDir } from '../helpers/fixtures.ts';
import { dnsmasqOptions, grubCommands, ipxeCommands, syslinuxLines } from './parsers.ts';

const run = promisify(execFile);
const RUNS = 300;
const BOOT_TIMEOUT = 300_000;

/** Per field: hostile strings tried, refused in one sentence, written quoted (and read back the same). */
const fields = new Map<string, { tried: number; refused: number; quoted: number }>();
function tally(field: string, outcome: 'refused' | 'quoted'): void {
  const row = fields.get(field) ?? { tried: 0, refused: 0, quoted: 0 };
  row.tried++;
  row[outcome]++;
  fields.set(field, row);
}
const checks = { grubScriptCheck: 0, dnsmasqTest: 0, nixReadBack: 0, shReadBack: 0, cliRefusals: 0 };
const boots: { what: string; seconds: number; passed: boolean }[] = [];

afterAll(async () => {
  await recordFigures(
    'hostile-text',
    [
      ...[...fields].map(([field, row]) => ({
        what: `${field}: hostile strings tried / refused in one sentence / accepted and written as data, adding no command`,
        value: `${row.tried} / ${row.refused} / ${row.quoted}`,
      })),
      { what: 'grub.cfg files checked by grub-script-check', value: checks.grubScriptCheck },
      { what: 'dnsmasq snippets checked by dnsmasq --test', value: checks.dnsmasqTest },
      { what: 'Nix strings read back by nix-instantiate', value: checks.nixReadBack },
      { what: 'shell words read back by sh', value: checks.shReadBack },
      { what: 'CLI refusals (exit 2, one sentence, nothing written)', value: checks.cliRefusals },
      { what: 'QEMU boots with a hostile kernel parameter', value: boots.length },
      ...boots.map((b) => ({
        what: `boot: ${b.what}`,
        value: `${b.passed ? 'parameter verbatim in /proc/cmdline' : 'FAILED'}, ${b.seconds.toFixed(0)} s`,
      })),
    ],
    [
      'The iPXE, GRUB and dnsmasq readers the files are counted with are re-implementations from their sources; iPXE itself reads one script (the boot), GRUB one grub.cfg, dnsmasq only checks syntax (--test).',
      'iPXE settings in kernel parameters (${net0/mac}) are allowed, as iPXE expands them inside a word after splitting (they cannot add a command); their values come from the network, and the USB media leave them out.',
      'GRUB hands \', " and \\ to the kernel with a backslash added: refused in the parameters a person adds; when the system’s own kernel-params hold them, a USB export warns, nothing more.',
      'A flake reference reaches Nix as a string it cannot break out of; what the flake itself evaluates is trusted like any Nix build.',
    ],
  );
});

// ---------------------------------------------------------------------------
// Kernel parameters.

/** Characters and words that mean something to iPXE, GRUB, syslinux, the kernel or a shell. */
const hostileChar = fc.constantFrom(
  ...[' ', '\t', ';', '&', '|', '#', '$', '{', '}', '"', "'", '\\', '`', '(', ')', '<', '>', '*', '?', '[', ']'],
  ...['!', '\n', '\r', '\0', '\v', '\x1b', '\u00a0', '\u2028', '-', '=', 'a', 'b', '.', '/', ':', ','],
);
const hostileWord = fc.constantFrom(
  ...['a', ';', '&&', '||', '#x', '#!ipxe', '${net0/mac}', '${cmdline}', '$(reboot)', '`id`', '-x', '--', '"a', 'b"'],
  ...["'", 'initrd=/etc/shadow', 'kernel', 'boot', 'chain', 'http://evil/x', 'init=/bin/sh', 'menuentry', '}', '{'],
  ...['APPEND', 'LABEL', 'DEFAULT', 'x\nchain http://evil/x', 'x\r\nboot', 'a\\', 'set', 'root=(hd1)', '&', '|'],
);
/** Printable metacharacters only: what a careless or hostile person can type into the one-line field. */
const printableChar = fc.constantFrom(
  ...[
    ' ',
    ';',
    '&',
    '|',
    '#',
    '$',
    '{',
    '}',
    '`',
    '(',
    ')',
    '<',
    '>',
    '*',
    '?',
    '[',
    ']',
    '!',
    '-',
    '=',
    'a',
    '.',
    '/',
  ],
);
const hostileParams = fc.oneof(
  fc.array(hostileChar, { maxLength: 40 }).map((chars) => chars.join('')),
  fc.array(printableChar, { maxLength: 40 }).map((chars) => chars.join('')),
  fc.array(hostileWord, { maxLength: 8 }).map((words) => words.join(' ')),
  fc.constantFrom('x'.repeat(1025), `${'a '.repeat(600)}`),
);

const SYSTEM: IpxeScriptInput = {
  title: 'nixos-system-test',
  kernel: 'bzImage',
  initrds: ['initrd', 'manifest', 'nix-store'],
  init: '/nix/store/00000000000000000000000000000000-nixos-system-test/init',
  kernelParams: 'console=ttyS0,115200 panic=1',
};
const BENIGN = ipxeScript({ ...SYSTEM, extraParams: 'quiet' });

/** A sentence: one line of printable text. */
function expectSentence(message: string | undefined): void {
  expect(message).toBeDefined();
  // eslint-disable-next-line no-control-regex
  expect(message).not.toMatch(/[\0-\x1f\x7f]/);
  expect(message!.length).toBeLessThan(400);
}

/** What netboot.ipxe's commands look like: the words of each, the kernel's arguments apart. */
function skeleton(commands: string[][]): string[] {
  return commands.map((c) => c[0]!);
}

describe('kernel parameters', () => {
  it('are refused in one sentence, or reach netboot.ipxe, syslinux.cfg and grub.cfg as the same words, adding no command', async () => {
    const benign = ipxeCommands(BENIGN);
    const benignGrub = grubCommands(grubConfig(parseBootScript(BENIGN, 'nixos-system-test')));
    const benignSyslinux = syslinuxLines(syslinuxConfig(parseBootScript(BENIGN, 'nixos-system-test')));
    const grubFiles: string[] = [];
    fc.assert(
      fc.property(hostileParams, (params) => {
        const problem = kernelParamsProblem(params);
        if (problem !== undefined) {
          tally('kernel parameters', 'refused');
          expectSentence(problem);
          expect(() => ipxeScript({ ...SYSTEM, extraParams: params })).toThrow(NetbootError);
          return;
        }
        tally('kernel parameters', 'quoted');
        const words = kernelParamWords(params);
        // netboot.ipxe: the same five commands; the kernel's arguments are ours, then the words, then ${cmdline}.
        const script = ipxeScript({ ...SYSTEM, extraParams: params });
        const commands = ipxeCommands(script);
        expect(skeleton(commands)).toEqual(skeleton(benign));
        expect(commands[0]!.slice(0, 6)).toEqual(benign[0]!.slice(0, 6));
        expect(commands[0]!.slice(6, -1)).toEqual(['console=ttyS0,115200', 'panic=1', ...words]);
        expect(commands[0]!.at(-1)).toBe('${cmdline}');
        // The USB media: what netboot.ipxe boots, minus iPXE's settings.
        const boot = parseBootScript(script, 'nixos-system-test');
        const kept = [
          `init=${SYSTEM.init}`,
          'console=ttyS0,115200',
          'panic=1',
          ...words.filter((w) => !w.includes('${')),
        ];
        expect(boot.params).toEqual(kept);
        const grub = grubConfig(boot);
        const grubCmds = grubCommands(grub);
        expect(grubCmds.map((c) => c.words[0])).toEqual(benignGrub.map((c) => c.words[0]));
        const linux = grubCmds.find((c) => c.words[0] === 'linux')!;
        expect(linux.words).toEqual(['linux', '/bzImage', ...kept]);
        expect(linux.unquotedSpecial).toBe(false);
        const syslinux = syslinuxLines(syslinuxConfig(boot));
        expect(syslinux.map((l) => l.keyword)).toEqual(benignSyslinux.map((l) => l.keyword));
        expect(syslinux.find((l) => l.keyword === 'APPEND')?.rest).toBe(kept.join(' '));
        if (grubFiles.length < 60 && words.length > 0) grubFiles.push(grub);
      }),
      { numRuns: RUNS },
    );
    // GRUB's own parser agrees that each is one well-formed configuration.
    const dir = await tempDir('nbc-grub-');
    await Promise.all(
      grubFiles.map(async (text, i) => {
        const file = join(dir, `grub-${i}.cfg`);
        await writeFile(file, text);
        await run('grub-script-check', [file]);
        checks.grubScriptCheck++;
      }),
    );
    expect(checks.grubScriptCheck).toBeGreaterThan(20);
  });

  it('with a line break, a lone ; && || or a leading #, are refused by the CLI with exit 2 and one sentence, before anything is written', async () => {
    const cases: [string, RegExp][] = [
      [
        'quiet\nchain http://evil/x',
        /^error: --kernel-params: Kernel parameters must be on one line, without control characters such as line breaks\.$/,
      ],
      [
        'quiet ; chain http://evil/x',
        /^error: --kernel-params: ";" on its own cannot be a kernel parameter: iPXE would read it as the end of the kernel command and run what follows as another command\.$/,
      ],
      ['quiet #!ipxe', /^error: --kernel-params: A kernel parameter cannot start with "#"/],
    ];
    await Promise.all(
      cases.map(async ([params, sentence]) => {
        const out = join(await tempDir(), 'never-made');
        const { code, stderr } = await runCli(['build', '--demo', '--out', out, '--kernel-params', params]);
        tally('kernel parameters (CLI)', 'refused');
        expect(code).toBe(2);
        expect(stderr.trim()).toMatch(sentence);
        expect(stderr.trim().split('\n')).toHaveLength(1);
        await expect(readdir(out)).rejects.toThrow(/ENOENT/);
        checks.cliRefusals++;
      }),
    );
  });
});

// ---------------------------------------------------------------------------
// Flake references, configuration names, and the tools' arguments.

describe('flake references and configuration names', () => {
  const nixText = fc.array(
    fc.constantFrom('a', '"', '\\', '$', '{', '}', '${', '$${', "''", '\n', '\t', '#', ';', ' ', 'é', 'x}', '${x}'),
    { maxLength: 16 },
  );

  it('reach Nix as strings it reads back unchanged (nix-instantiate), whatever they hold', async () => {
    const texts = fc.sample(
      nixText.map((parts) => parts.join('')),
      200,
    );
    texts.push('"; builtins.exec ["sh"] #', '${builtins.currentTime}', "'' ${x} ''", '\\${', '-x');
    const expr = `[ ${texts.map(nixString).join(' ')} ]`;
    const { stdout } = await run('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr]);
    expect(JSON.parse(stdout)).toEqual(texts);
    checks.nixReadBack += texts.length;
    texts.forEach(() => tally('flake references and names (Nix strings)', 'quoted'));
    // The expression a flake build evaluates stays one expression around any name: Nix parses all of them.
    const names = texts.slice(0, 50);
    const parsed = await run('nix-instantiate', [
      '--parse',
      '--expr',
      `[ ${names.map((name) => `(${flakeToplevelExpr('/srv/flake', name, '/m.nix')})`).join(' ')} ]`,
    ]);
    // Printed back as Nix normalises it: one getFlake and one nixosConfigurations."NAME" per name.
    expect(parsed.stdout.match(/\(builtins\)\.getFlake/g)).toHaveLength(names.length);
    expect(parsed.stdout.match(/\.nixosConfigurations\./g)).toHaveLength(names.length);
  });

  it('with a control character are refused in one sentence (the CLI exits 2)', async () => {
    for (const text of ['.#a\nb', 'github:me/x\0#router', '.#router\r']) {
      expect(() => parseFlakeArg(text)).toThrow(
        /^The flake configuration holds a line break or another control character; write REF#NAME/,
      );
      tally('flake references and names (Nix strings)', 'refused');
    }
    const { code, stderr } = await runCli(['build', '--flake', '.#a\nb', '--out', join(await tempDir(), 'x')]);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^error: --flake: The flake configuration holds a line break/);
    checks.cliRefusals++;
  });

  it('file names a hand-edited netboot.ipxe gives the USB media are plain names, never options of mcopy', () => {
    const name = fc.constantFrom(
      'bzImage',
      '-rf',
      '--help',
      '-o',
      'a b',
      '../x',
      '/etc/shadow',
      'x;y',
      '.',
      '-',
      'ok-1',
    );
    const line = fc.tuple(
      fc.constantFrom('kernel', 'initrd', 'chain', 'module'),
      fc.array(fc.oneof(name, fc.constantFrom('--name', '-n', '--timeout', '5', '--', ';', '#c')), { maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 5 }), (lines) => {
        const script = `#!ipxe\n${lines.map(([command, words]) => [command, ...words].join(' ')).join('\n')}\nboot\n`;
        let boot;
        try {
          boot = parseBootScript(script, 't');
        } catch (error) {
          expect(error).toBeInstanceOf(NetbootError);
          tally('file names in netboot.ipxe (USB media)', 'refused');
          return;
        }
        tally('file names in netboot.ipxe (USB media)', 'quoted');
        for (const file of [boot.kernel, ...boot.initrds]) expect(file).toMatch(/^[A-Za-z0-9._+][A-Za-z0-9._+-]*$/);
      }),
      { numRuns: RUNS },
    );
  });

  it('a cache folder named like an option becomes an absolute path before it reaches mksquashfs', () => {
    const cache = new Cache('-noappend');
    expect(cache.dir).toMatch(/^\/.*\/-noappend$/);
    const args = mksquashfsArgs(
      '/nix/store/x',
      cache.dataFile('squashfs', 'k', '/nix/store/x', 'sqsh'),
      { name: 'xz' },
      1,
    );
    expect(args.slice(0, 2).every((arg) => arg.startsWith('/'))).toBe(true);
  });

  it('paths in the commands we print read back unchanged in sh, whatever they hold', async () => {
    const words = fc.sample(
      fc
        .array(fc.constantFrom('a', "'", '"', '$', '`', '\\', ' ', ';', '&', '|', '\n', '*', '(', '-', '~', '!'), {
          maxLength: 12,
        })
        .map((c) => c.join('')),
      150,
    );
    const script = `printf '%s\\0' ${words.map(shellQuote).join(' ')}`;
    const { stdout } = await run('sh', ['-c', script]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(words);
    checks.shReadBack += words.length;
    expect(commandLine(['python3', '-m', 'http.server', '80', '--directory', '/srv/$(reboot)'])).toBe(
      "python3 -m http.server 80 --directory '/srv/$(reboot)'",
    );
  });
});

// ---------------------------------------------------------------------------
// dnsmasq snippets: the TFTP root, a subfolder, the system's name.

function snippetInput(overrides: Partial<DnsmasqInput>): DnsmasqInput {
  return {
    title: 'nixos-system-test',
    tftpRoot: '/srv/tftp',
    script: 'demo/netboot.ipxe',
    loaders: [{ tag: 'bios', label: 'BIOS', archs: [0], csas: ['x86PC'], file: 'undionly.kpxe' }],
    network: undefined,
    proxyFile: '/srv/tftp/demo/dnsmasq-proxy-dhcp.conf',
    fullFile: '/srv/tftp/demo/dnsmasq-full-dhcp.conf',
    ...overrides,
  };
}

describe('dnsmasq snippets', () => {
  const folderChar = fc.constantFrom(
    ...['a', '/', ' ', ',', '#', '"', '\\', '$', '\t', ';', '=', '-', '.', "'", 'é', '\n', '\r', '\0', '\x1b'],
  );
  const printable = fc.constantFrom(
    ...['a', '/', ' ', ',', '#', '"', '\\', '$', '\t', ';', '=', '-', '.', "'", 'é', '{'],
  );
  const hostileFolder = fc
    .oneof(fc.array(printable, { minLength: 1, maxLength: 24 }), fc.array(folderChar, { minLength: 1, maxLength: 24 }))
    .map((c) => `/srv/${c.join('')}`);

  it('hold a hostile TFTP root, subfolder or title as one value each, or refuse it in one sentence', () => {
    const benign = [proxyDhcpSnippet(snippetInput({})), fullDhcpSnippet(snippetInput({}))].map(dnsmasqOptions);
    const input = fc.record({
      root: hostileFolder,
      title: fc.array(folderChar, { maxLength: 20 }).map((c) => c.join('')),
      subdir: fc.oneof(
        fc.constant(''),
        fc.array(folderChar, { minLength: 1, maxLength: 12 }).map((c) => c.join('')),
        fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/), { minLength: 1, maxLength: 3 }).map((p) => p.join('/')),
      ),
    });
    fc.assert(
      fc.property(input, ({ root, title, subdir }) => {
        const subProblem = subdirProblem(subdir);
        if (subProblem !== undefined) {
          tally('TFTP subfolder', 'refused');
          expectSentence(subProblem);
        } else if (subdir.trim() !== '') {
          tally('TFTP subfolder', 'quoted');
          // Accepted as typed around its spaces and trailing slashes, which are dropped (" a" is "a").
          const parts = subdir.trim().replace(/\/+$/, '').split('/');
          expect(parts.every((part) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(part))).toBe(true);
        }
        const script = `${subProblem === undefined && subdir.trim() !== '' ? subdir.trim().replace(/\/+$/, '') : 'demo'}/netboot.ipxe`;
        const make = () =>
          [proxyDhcpSnippet, fullDhcpSnippet].map((snippet) =>
            snippet(
              snippetInput({ tftpRoot: root, title, script, proxyFile: `${root}/p.conf`, fullFile: `${root}/f.conf` }),
            ),
          );
        // eslint-disable-next-line no-control-regex
        if (/[\0-\x08\n-\x1f\x7f]/.test(root)) {
          expect(make).toThrow(
            /cannot go into a dnsmasq configuration: it holds a line break or another control character; rename it\.$/,
          );
          tally('TFTP root folder', 'refused');
          return;
        }
        tally('TFTP root folder', 'quoted');
        tally('system name in dnsmasq comments', 'quoted');
        const texts = make();
        texts.forEach((text, i) => {
          const options = dnsmasqOptions(text);
          // The same options, in the same order, as with a plain folder; each value one field.
          expect(options.map((o) => o.key)).toEqual(benign[i]!.map((o) => o.key));
          expect(options.find((o) => o.key === 'tftp-root')?.fields).toEqual([root]);
          const boot = options.filter((o) => o.key === 'dhcp-boot' && o.fields[0] === 'tag:ipxe')[0]!;
          expect(boot.fields[1]).toBe(script);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('of a real TFTP export to a folder named with , # " $ and spaces are read by dnsmasq as one root; a line break is refused', async () => {
    const from = await tempDir();
    const out = await OutDir.open(from);
    for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store']) {
      await out.write(name, name, (temp) => writeFile(temp, name));
    }
    await out.write('netboot.ipxe', 's', (temp) => writeFile(temp, BENIGN));
    await out.commit({ toplevel: '/nix/store/00000000000000000000000000000000-nixos-system-test' });
    const parent = await tempDir();
    for (const name of ['tftp, #root "x" $HOME', "it's;here\\", 'tab\there']) {
      const root = join(parent, name);
      await exportTo(from, { kind: 'tftp', dir: root, subdir: 'lab/demo' });
      for (const file of ['dnsmasq-proxy-dhcp.conf', 'dnsmasq-full-dhcp.conf']) {
        const path = join(root, 'lab', 'demo', file);
        const text = await readFile(path, 'utf8');
        const options = dnsmasqOptions(text);
        expect(options.find((o) => o.key === 'tftp-root')?.fields).toEqual([root]);
        expect(options.filter((o) => o.key === 'dhcp-script' || o.key === 'conf-file')).toEqual([]);
        // dnsmasq's own parser takes it.
        await run('dnsmasq', ['--test', `--conf-file=${path}`]);
        checks.dnsmasqTest++;
      }
    }
    const bad = join(parent, 'tftp\ndhcp-script=/tmp/evil');
    await expect(exportTo(from, { kind: 'tftp', dir: bad })).rejects.toThrow(
      /^The TFTP folder .* has a line break or another control character in its path, which its dnsmasq snippets cannot hold; choose a folder whose path has none\.$/,
    );
    expect(await readdir(parent)).not.toContain('tftp\ndhcp-script=/tmp/evil');
    const { code, stderr } = await runCli(['export', '--from', from, '--tftp', join(parent, 't'), '--subdir=-rf']);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^error: --subdir: "-rf" is not a subfolder name: [^\n]+\.$/);
    checks.cliRefusals++;
  });
});

// ---------------------------------------------------------------------------
// The HTTP base URL.

describe('the HTTP base URL', () => {
  const urlChar = fc.constantFrom(
    ...['a', '/', ';', '&', '|', '$', '{', '}', '${x}', "'", '"', '`', '(', ')', '*', '%', '@', ':', ',', '!'],
    ...[' ', '\t', '\n', '\r', '\0', '?', '#', '&&', '||', '#!ipxe'],
  );
  const hostileUrl = fc.tuple(
    fc.constantFrom(
      'http://10.0.0.2',
      'https://boot.lan:8443',
      'http://${next-server}',
      'ftp://x',
      'http://',
      ' http://x',
    ),
    fc.array(urlChar, { maxLength: 16 }).map((c) => c.join('')),
  );

  it('is refused in one sentence, or fetched from as one word per file, adding no command', async () => {
    const benign = ipxeCommands(BENIGN);
    fc.assert(
      fc.property(hostileUrl, ([start, path]) => {
        const url = `${start}/${path}`;
        const problem = baseUrlProblem(url);
        if (problem !== undefined) {
          tally('HTTP base URL', 'refused');
          expectSentence(problem);
          expect(() => rebaseIpxeScript(BENIGN, url)).toThrow(NetbootError);
          return;
        }
        tally('HTTP base URL', 'quoted');
        const commands = ipxeCommands(rebaseIpxeScript(BENIGN, url));
        expect(skeleton(commands)).toEqual(skeleton(benign));
        const base = url.trim().replace(/\/+$/, '');
        expect(commands[0]![1]).toBe(`${base}/bzImage`);
        expect(commands[0]!.slice(2)).toEqual(benign[0]!.slice(2));
        for (const [i, name] of ['initrd', 'manifest', 'nix-store'].entries()) {
          expect(commands[i + 1]).toEqual(['initrd', '--name', name, `${base}/${name}`]);
        }
      }),
      { numRuns: RUNS },
    );
    const from = await tempDir();
    const { code, stderr } = await runCli([
      'export',
      '--from',
      from,
      '--http',
      join(from, 'w'),
      '--base-url',
      'http://x/\nboot',
    ]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'error: --base-url: The base URL cannot hold line breaks or other control characters: netboot.ipxe fetches from it as typed.',
    );
    checks.cliRefusals++;
  });
});

// ---------------------------------------------------------------------------
// The boots.

/** Hostile but legal: shell, iPXE, GRUB and syslinux metacharacters inside words, a word starting with -. */
const HOSTILE_PARAMS = 'nbc.hostile=a;b&&c||d$e<f>g|h#i*j{k}(l)!m~n%o@p nbc.sub=$(reboot)`id` -nbc-dash';

describe('a demo built with a hostile but legal kernel parameter', () => {
  let from: string;
  let image: string;

  beforeAll(async () => {
    expect(kernelParamsProblem(HOSTILE_PARAMS)).toBeUndefined();
    from = join(await tempDir(), 'boot');
    const built = await runCli(['build', '--demo', '--out', from, '--kernel-params', HOSTILE_PARAMS, '--json']);
    expect(built.code, built.stderr).toBe(0);
    image = join(await tempDir(), 'hostile.img');
    await makeUsbImage(from, image);
  });

  async function bootAndReadCmdline(what: string, args: string[]): Promise<string> {
    const started = performance.now();
    const { code, stdout, stderr } = await runCli(['test-boot', ...args, '--json']);
    const events = jsonEvents(stdout);
    const lines = events.filter((e) => e.event === 'console').map((e) => String(e.line ?? e.data));
    const cmdline = lines.find((line) => line.includes('stage 2: kernel command line:')) ?? '';
    const passed = code === 0 && cmdline.includes(HOSTILE_PARAMS);
    boots.push({ what, seconds: (performance.now() - started) / 1000, passed });
    expect(code, stderr).toBe(0);
    expect(String(events.at(-1)?.reason)).toContain(DEMO_MARKER);
    return cmdline;
  }

  it(
    'writes netboot.ipxe with the parameter as words of the kernel command, and iPXE boots it with /proc/cmdline verbatim',
    async () => {
      const commands = ipxeCommands(await readFile(join(from, 'netboot.ipxe'), 'utf8'));
      expect(skeleton(commands)).toEqual(['kernel', 'initrd', 'initrd', 'initrd', 'boot']);
      expect(commands[0]!.join(' ')).toContain(HOSTILE_PARAMS);
      const cmdline = await bootAndReadCmdline('netbooted by iPXE (BIOS)', ['--dir', from, '--firmware', 'bios']);
      expect(cmdline).toContain(HOSTILE_PARAMS);
    },
    BOOT_TIMEOUT,
  );

  it(
    'writes syslinux.cfg with one APPEND line and grub.cfg with one menuentry holding the parameter, and both boot it verbatim',
    async () => {
      const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
      const type = async (name: string) =>
        (await run('mtype', ['-i', `${image}@@1M`, `::/${name}`], { env, encoding: 'utf8' })).stdout;
      const syslinux = syslinuxLines(await type(USB_FILES.syslinuxConfig));
      const append = syslinux.filter((l) => l.keyword === 'APPEND');
      expect(append).toHaveLength(1);
      expect(append[0]!.rest).toMatch(/^init=\/nix\/store\/\S+\/init console=ttyS0,115200 panic=1 loglevel=4 /);
      expect(append[0]!.rest.endsWith(` loglevel=4 ${HOSTILE_PARAMS}`)).toBe(true);
      expect(syslinux.filter((l) => l.keyword === 'LABEL')).toHaveLength(1);
      const grub = await type(USB_FILES.grubConfig);
      const dir = await tempDir();
      await mkdir(join(dir, 'g'));
      await writeFile(join(dir, 'g', 'grub.cfg'), grub);
      await run('grub-script-check', [join(dir, 'g', 'grub.cfg')]);
      checks.grubScriptCheck++;
      const commands = grubCommands(grub);
      expect(commands.filter((c) => c.words[0] === 'menuentry')).toHaveLength(1);
      const linux = commands.filter((c) => c.words[0] === 'linux');
      expect(linux).toHaveLength(1);
      expect(linux[0]!.words.slice(0, 2)).toEqual(['linux', '/bzImage']);
      expect(linux[0]!.words.slice(3).join(' ')).toBe(`console=ttyS0,115200 panic=1 loglevel=4 ${HOSTILE_PARAMS}`);
      expect(linux[0]!.unquotedSpecial).toBe(false);

      const bios = await bootAndReadCmdline('USB image under BIOS (syslinux)', [
        '--usb-image',
        image,
        '--firmware',
        'bios',
      ]);
      expect(bios).toContain(HOSTILE_PARAMS);
      const uefi = await bootAndReadCmdline('USB image under UEFI (GRUB)', [
        '--usb-image',
        image,
        '--firmware',
        'uefi',
      ]);
      expect(uefi).toContain(HOSTILE_PARAMS);
    },
    2 * BOOT_TIMEOUT,
  );
});
