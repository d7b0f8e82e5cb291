/**
 * The TFTP and HTTP exports on real boot folders (built by the CLI from the
 * test fixtures): files of others left byte-identical, our files replaced
 * exactly, interrupted exports leaving the previous one whole, the iPXE
 * loaders copied from the system, and the dnsmasq snippets checked by dnsmasq.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportTo } from '../../../electron/pipeline/export/export.ts';
import { exportTftp, FULL_SNIPPET, PROXY_SNIPPET } from '../../../electron/pipeline/export/tftp.ts';
import { findIpxeLoaders, type LoaderName } from '../../../electron/pipeline/base/ipxe-loaders.ts';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import type { BuildEvent, ExportSummary } from '../../../electron/shared/types.ts';
import { buildFixture, runCli, tempDir } from '../../helpers/fixtures.ts';

const run = promisify(execFile);
/** Where this machine's release keeps the loaders (/usr/lib/ipxe on Debian). */
const loaderPath = (name: string): string => findIpxeLoaders()[name as LoaderName]!;
const BOOT_FILES = ['bzImage', 'initrd', 'manifest', 'nix-store', 'netboot.ipxe'];
const LOADERS = ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'];

let folderA: string;
let folderB: string;

/** A boot folder built by the CLI from a fixture variant. */
async function bootFolder(variant: string): Promise<string> {
  const out = await tempDir();
  const toplevel = await buildFixture({ variant });
  const { code, stderr } = await runCli(['build', '--toplevel', toplevel, '--out', out, '--cache', await tempDir()]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return out;
}

beforeAll(async () => {
  [folderA, folderB] = await Promise.all([bootFolder('export-a'), bootFolder('export-b')]);
});

/** Every file under `dir` (relative path -> bytes, base64), dot files included. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = (await readFile(path)).toString('base64');
  }
  return files;
}

async function bytes(path: string): Promise<string> {
  return (await readFile(path)).toString('base64');
}

/** Files an export leaves behind when it does not finish its job: temporary copies, replaced files. */
function leftovers(files: Record<string, string>): string[] {
  return Object.keys(files).filter((name) => /\.partial-|\.old-/.test(name));
}

/** Put files of someone else into `dir`: a pxelinux menu, notes, a file in the boot subfolder. */
async function foreignFiles(dir: string, subdir?: string): Promise<Record<string, string>> {
  await mkdir(join(dir, 'pxelinux.cfg'), { recursive: true });
  await writeFile(join(dir, 'pxelinux.cfg', 'default'), 'DEFAULT menu.c32\n');
  await writeFile(join(dir, 'notes.txt'), 'my TFTP server\n');
  if (subdir) {
    await mkdir(join(dir, subdir), { recursive: true });
    await writeFile(join(dir, subdir, 'README'), 'hand-written\n');
  }
  return snapshot(dir);
}

describe('the TFTP export', () => {
  it('puts the boot files in the subfolder and the loaders at the root, next to files of others that stay byte-identical', async () => {
    const root = await tempDir();
    // Readable by others, as a TFTP root must be (mkdtemp makes it 700): no warning then.
    await chmod(root, 0o755);
    const foreign = await foreignFiles(root, 'demo');
    const events: BuildEvent[] = [];
    const summary = await exportTo(
      folderA,
      { kind: 'tftp', dir: root, subdir: 'demo' },
      { onEvent: (e) => events.push(e) },
    );

    const after = await snapshot(root);
    for (const [name, data] of Object.entries(foreign)) expect(after[name], name).toBe(data);
    for (const name of BOOT_FILES) expect(after[`demo/${name}`], name).toBe(await bytes(join(folderA, name)));
    for (const name of LOADERS) expect(after[name], name).toBe(await bytes(loaderPath(name)));
    expect(Object.keys(after).sort()).toEqual(
      [
        ...Object.keys(foreign),
        ...BOOT_FILES.map((n) => `demo/${n}`),
        `demo/${PROXY_SNIPPET}`,
        `demo/${FULL_SNIPPET}`,
        'demo/.netboot-composer.json',
        ...LOADERS,
        '.netboot-composer.json',
      ].sort(),
    );

    expect(summary.kind).toBe('tftp');
    expect(summary.dir).toBe(root);
    expect(summary.files.map((f) => f.name)).toEqual([
      ...BOOT_FILES.map((n) => `demo/${n}`),
      `demo/${PROXY_SNIPPET}`,
      `demo/${FULL_SNIPPET}`,
      ...LOADERS,
    ]);
    expect(events.filter((e) => e.event === 'file').map((e) => e.event === 'file' && e.name)).toEqual(
      summary.files.map((f) => f.name),
    );
    expect(summary.notes.filter((n) => n.level === 'warning')).toEqual([]);
    expect(summary.notes.map((n) => n.message).join('\n')).toMatch(
      /machines running iPXE load demo\/netboot\.ipxe; the others first load undionly\.kpxe \(BIOS\) or snponly\.efi \(UEFI\)/,
    );
    // test-boot reads what the build recorded (the RAM it needs) from the subfolder.
    const record = JSON.parse(await readFile(join(root, 'demo', '.netboot-composer.json'), 'utf8')) as {
      info: { ramBytes: number };
    };
    expect(record.info.ramBytes).toBeGreaterThan(0);
  });

  it('replaces exactly its own files when a changed boot folder is exported again', async () => {
    const root = await tempDir();
    const foreign = await foreignFiles(root, 'demo');
    await exportTo(folderA, { kind: 'tftp', dir: root, subdir: 'demo' });
    const events: BuildEvent[] = [];
    await exportTo(folderB, { kind: 'tftp', dir: root, subdir: 'demo' }, { onEvent: (e) => events.push(e) });

    const after = await snapshot(root);
    for (const [name, data] of Object.entries(foreign)) expect(after[name], name).toBe(data);
    for (const name of BOOT_FILES) expect(after[`demo/${name}`], name).toBe(await bytes(join(folderB, name)));
    expect(leftovers(after)).toEqual([]);
    // Only what changed was copied again: the variant changes the store, not the kernel.
    const reused = events.flatMap((e) => (e.event === 'file' && e.reused ? [e.name] : []));
    expect(reused).toEqual(expect.arrayContaining(['demo/bzImage', 'demo/initrd', ...LOADERS]));
    expect(reused).not.toContain('demo/netboot.ipxe');
    expect(await readFile(join(root, 'demo', 'netboot.ipxe'), 'utf8')).not.toBe(
      await readFile(join(folderA, 'netboot.ipxe'), 'utf8'),
    );
  });

  it('leaves the previous export whole, with no temporary files, when canceled after the first file', async () => {
    const root = await tempDir();
    await foreignFiles(root, 'demo');
    await exportTo(folderA, { kind: 'tftp', dir: root, subdir: 'demo' });
    const before = await snapshot(root);

    const controller = new AbortController();
    const copied: string[] = [];
    const onEvent = (event: BuildEvent): void => {
      if (event.event !== 'file' || event.reused) return;
      copied.push(event.name);
      controller.abort();
    };
    await expect(
      exportTo(folderB, { kind: 'tftp', dir: root, subdir: 'demo' }, { onEvent, signal: controller.signal }),
    ).rejects.toThrow(/The export was canceled; the folder holds the previous export, whole/);
    // It was stopped after copying a changed file, not before.
    expect(copied).toHaveLength(1);
    expect(await snapshot(root)).toEqual(before);
  });

  it('leaves the previous export whole when a copy fails mid-way', async () => {
    const root = await tempDir();
    await exportTo(folderA, { kind: 'tftp', dir: root });
    const before = await snapshot(root);
    // A boot folder whose nix-store vanished after the build: the copies before it succeed, then one fails.
    const broken = await tempDir();
    for (const name of [...BOOT_FILES, '.netboot-composer.json'])
      await writeFile(join(broken, name), await readFile(join(folderB, name)));
    await rm(join(broken, 'nix-store'));
    await expect(exportTo(broken, { kind: 'tftp', dir: root })).rejects.toThrow(
      `${join(broken, 'nix-store')} is missing from the boot folder; build the system again.`,
    );
    expect(await snapshot(root)).toEqual(before);
  });

  it('shares one root between systems: each subfolder, and a system at the root, stays whole', async () => {
    const root = await tempDir();
    await exportTo(folderA, { kind: 'tftp', dir: root });
    await exportTo(folderA, { kind: 'tftp', dir: root, subdir: 'lab/a' });
    await exportTo(folderB, { kind: 'tftp', dir: root, subdir: 'lab/b' });
    const after = await snapshot(root);
    for (const name of BOOT_FILES) {
      expect(after[name], name).toBe(await bytes(join(folderA, name)));
      expect(after[`lab/a/${name}`], name).toBe(await bytes(join(folderA, name)));
      expect(after[`lab/b/${name}`], name).toBe(await bytes(join(folderB, name)));
    }
    for (const name of LOADERS) expect(after[name], name).toBe(await bytes(loaderPath(name)));
    expect(await readFile(join(root, 'lab/b', PROXY_SNIPPET), 'utf8')).toContain(
      'dhcp-boot=tag:ipxe,lab/b/netboot.ipxe,,',
    );
  });

  it('refuses a loader name that belongs to someone else, and leaves everything as it was', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'undionly.kpxe'), 'my own build of iPXE');
    const before = await snapshot(root);
    await expect(exportTo(folderA, { kind: 'tftp', dir: root, subdir: 'demo' })).rejects.toThrow(
      `${join(root, 'undionly.kpxe')} was not written by Netboot Composer, so it is left alone`,
    );
    expect(await snapshot(root)).toEqual(before);
    expect(await readdir(root)).toEqual(['undionly.kpxe']);
  });

  it('names the package to install when the loaders are missing, and still writes usable snippets', async () => {
    const root = await tempDir();
    const saved = process.env.NETBOOT_COMPOSER_IPXE_DIR;
    process.env.NETBOOT_COMPOSER_IPXE_DIR = await tempDir();
    let summary: ExportSummary;
    try {
      summary = await exportTo(folderA, { kind: 'tftp', dir: root });
    } finally {
      if (saved === undefined) delete process.env.NETBOOT_COMPOSER_IPXE_DIR;
      else process.env.NETBOOT_COMPOSER_IPXE_DIR = saved;
    }
    expect(summary.notes).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(
        /^The iPXE loaders undionly\.kpxe, snponly\.efi, ipxe\.efi were not found in \S+, so machines without iPXE in their firmware cannot chainload it: install the ipxe package \(on Debian or Ubuntu: sudo apt-get install ipxe\) and export again\.$/,
      ),
    });
    expect((await readdir(root)).filter((n) => LOADERS.includes(n))).toEqual([]);
    await checkWithDnsmasq(join(root, PROXY_SNIPPET));
  });

  it('warns that TFTP is slow for a download over 100 MiB, and says so once', async () => {
    const from = await tempDir();
    const out = await OutDir.open(from);
    for (const name of BOOT_FILES) {
      await out.write(name, `fp-${name}`, async (temp) => {
        if (name === 'nix-store') {
          await writeFile(temp, '');
          await truncate(temp, 110 * 1024 * 1024);
        } else await writeFile(temp, name === 'netboot.ipxe' ? '#!ipxe\n# t\nkernel bzImage x\nboot\n' : name);
      });
    }
    await out.commit({});
    const summary = await exportTo(from, { kind: 'tftp', dir: await tempDir() });
    const slow = summary.notes.filter((n) => /TFTP waits for every/.test(n.message));
    expect(slow).toEqual([
      {
        level: 'warning',
        message: expect.stringMatching(
          /^The download is 110 MiB \(kernel and initrds\): TFTP waits for every 1\.5 KB block, .*, so serve it over HTTP instead \(the HTTP export\)\.$/,
        ),
      },
    ]);
    // The demo-sized folder gets no such warning (first test).
  });

  it('warns when dnsmasq, running as its own user, could not read the folder', async () => {
    const parent = await tempDir();
    await chmod(parent, 0o700);
    const summary = await exportTo(folderA, { kind: 'tftp', dir: join(parent, 'tftp') });
    expect(summary.notes).toContainEqual({
      level: 'warning',
      message: `dnsmasq usually runs as its own user, which cannot read ${parent} (mode 700): make it readable by others (chmod o+rx), or export to a folder such as /srv.`,
    });
  });

  it('refuses a subfolder name that is not a plain path inside the root', async () => {
    for (const subdir of ['../up', '/abs', 'a b', '.hidden']) {
      await expect(exportTo(folderA, { kind: 'tftp', dir: await tempDir(), subdir })).rejects.toThrow(
        `"${subdir}" is not a subfolder name`,
      );
    }
  });
});

/** Check `snippet` with dnsmasq's own parser, included from a main configuration as a user would. */
async function checkWithDnsmasq(snippet: string): Promise<void> {
  const main = join(await tempDir(), 'dnsmasq.conf');
  await writeFile(main, `# the user's main configuration\nconf-file=${snippet}\n`);
  const { stdout, stderr } = await run('dnsmasq', ['--test', `--conf-file=${main}`]);
  expect(`${stdout}${stderr}`).toContain('syntax check OK');
}

describe('the dnsmasq snippets of a TFTP export', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir();
    await exportTftp(folderA, { dir: root, subdir: 'router' }, {}, () => ({
      iface: 'eth1',
      address: '10.20.30.40',
      network: '10.20.30.0',
      netmask: '255.255.255.0',
      prefix: 24,
    }));
  });

  it.each([PROXY_SNIPPET, FULL_SNIPPET])(
    '%s passes dnsmasq --test when included from a configuration',
    async (name) => {
      await checkWithDnsmasq(join(root, 'router', name));
    },
  );

  it('a broken snippet fails the same check (the check can fail)', async () => {
    const broken = join(await tempDir(), 'broken.conf');
    const text = await readFile(join(root, 'router', PROXY_SNIPPET), 'utf8');
    await writeFile(broken, text.replace(',proxy,', ',proxi,'));
    await expect(checkWithDnsmasq(broken)).rejects.toThrow(/bad dhcp-range/);
  });

  it('proxy DHCP: undionly.kpxe for BIOS (arch 0), snponly.efi for UEFI (7 and 9), the script for iPXE, from this root', async () => {
    const lines = (await readFile(join(root, 'router', PROXY_SNIPPET), 'utf8')).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'dhcp-range=10.20.30.0,proxy,255.255.255.0',
        'enable-tftp',
        `tftp-root=${root}`,
        'dhcp-match=set:bios,option:client-arch,0',
        'dhcp-match=set:efi-x86_64,option:client-arch,7',
        'dhcp-match=set:efi-x86_64,option:client-arch,9',
        'dhcp-match=set:ipxe,175',
        'dhcp-userclass=set:ipxe,iPXE',
        'pxe-service=tag:!ipxe,x86PC,"Netboot Composer (BIOS)",undionly.kpxe',
        'pxe-service=tag:!ipxe,BC_EFI,"Netboot Composer (UEFI)",snponly.efi',
        'pxe-service=tag:!ipxe,x86-64_EFI,"Netboot Composer (UEFI)",snponly.efi',
        'dhcp-boot=tag:ipxe,router/netboot.ipxe,,10.20.30.40',
      ]),
    );
  });

  it('full DHCP: a pool on the network, and the same files per kind of client', async () => {
    const lines = (await readFile(join(root, 'router', FULL_SNIPPET), 'utf8')).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'dhcp-range=10.20.30.100,10.20.30.199,255.255.255.0,12h',
        `tftp-root=${root}`,
        'dhcp-boot=tag:ipxe,router/netboot.ipxe',
        'dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe',
        'dhcp-boot=tag:!ipxe,tag:efi-x86_64,snponly.efi',
      ]),
    );
    // Every file a snippet names is in the export.
    for (const file of ['undionly.kpxe', 'snponly.efi', 'router/netboot.ipxe'])
      expect((await snapshot(root))[file], file).toBeDefined();
  });
});

describe('the HTTP export', () => {
  const base = 'http://192.168.1.10:8080/boot/test';

  it('writes the boot files and a script that fetches each by absolute URL, with the names the command line uses', async () => {
    const dir = await tempDir();
    const foreign = await foreignFiles(dir);
    const summary = await exportTo(folderA, { kind: 'http', dir, baseUrl: `${base}/` });
    const after = await snapshot(dir);
    for (const [name, data] of Object.entries(foreign)) expect(after[name], name).toBe(data);
    for (const name of BOOT_FILES.filter((n) => n !== 'netboot.ipxe'))
      expect(after[name], name).toBe(await bytes(join(folderA, name)));

    const script = await readFile(join(dir, 'netboot.ipxe'), 'utf8');
    const kernel = script.split('\n').find((line) => line.startsWith('kernel '))!;
    expect(kernel).toMatch(new RegExp(`^kernel ${base}/bzImage init=/nix/store/\\S+/init initrd=initrd `));
    expect(script).toContain(
      [
        `initrd --name initrd ${base}/initrd`,
        `initrd --name manifest ${base}/manifest`,
        `initrd --name nix-store ${base}/nix-store`,
        'boot',
      ].join('\n'),
    );
    // The original's command line is kept as it was.
    const original = await readFile(join(folderA, 'netboot.ipxe'), 'utf8');
    expect(kernel.replace(`${base}/`, '')).toBe(original.split('\n').find((line) => line.startsWith('kernel ')));
    expect(summary.notes).toContainEqual({
      level: 'info',
      message: `Boot it from iPXE with: chain ${base}/netboot.ipxe (or, in dnsmasq, give iPXE clients that URL as their boot file: dhcp-boot=tag:ipxe,${base}/netboot.ipxe).`,
    });
  });

  it('rewrites the script when only the base URL changes, and leaves the export whole when a copy fails', async () => {
    const dir = await tempDir();
    await exportTo(folderA, { kind: 'http', dir, baseUrl: base });
    const events: BuildEvent[] = [];
    await exportTo(folderA, { kind: 'http', dir, baseUrl: 'http://boot.lan' }, { onEvent: (e) => events.push(e) });
    expect(events.flatMap((e) => (e.event === 'file' && !e.reused ? [e.name] : []))).toEqual(['netboot.ipxe']);
    expect(await readFile(join(dir, 'netboot.ipxe'), 'utf8')).toContain(
      'initrd --name nix-store http://boot.lan/nix-store',
    );

    const before = await snapshot(dir);
    const broken = await tempDir();
    for (const name of [...BOOT_FILES, '.netboot-composer.json'])
      await writeFile(join(broken, name), await readFile(join(folderB, name)));
    await rm(join(broken, 'nix-store'));
    await expect(exportTo(broken, { kind: 'http', dir, baseUrl: base })).rejects.toThrow(/nix-store is missing/);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('says in one sentence what is wrong with a base URL, before writing anything', async () => {
    const dir = join(await tempDir(), 'http');
    await expect(exportTo(folderA, { kind: 'http', dir, baseUrl: 'ftp://server/boot' })).rejects.toThrow(
      'The base URL must start with http:// or https:// and name a server, e.g. http://192.168.1.10/netboot/',
    );
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
