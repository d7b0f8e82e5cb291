import { describe, expect, it } from 'vitest';
import { choosePackages, parseDpkgList, storeNameOf, type DebianPackage } from '../../bench/closure.ts';
import { compressorTable, growthTable, mainTable, median, parseProcStat, parseTimeOutput } from '../../bench/report.ts';

const MiB = 1024 * 1024;

describe('the benchmark closure', () => {
  it("reads dpkg-query's list, sizes in KiB", () => {
    expect(parseDpkgList('bash\t5.2.15-2+b7\t7164\nlibc6\t2.36-9\t12991\n\n')).toEqual([
      { name: 'bash', version: '5.2.15-2+b7', bytes: 7164 * 1024 },
      { name: 'libc6', version: '2.36-9', bytes: 12991 * 1024 },
    ]);
  });

  it('picks the largest of the large range, then a fixed sample of medium and small packages', () => {
    const packages: DebianPackage[] = [
      ...Array.from({ length: 6 }, (_, i) => ({ name: `big${i}`, version: '1', bytes: (50 + i) * MiB })),
      ...Array.from({ length: 30 }, (_, i) => ({ name: `mid${i}`, version: '1', bytes: (3 + i) * MiB })),
      ...Array.from({ length: 300 }, (_, i) => ({ name: `small${i}`, version: '1', bytes: 10_000 + i })),
      { name: 'huge', version: '1', bytes: 500 * MiB },
    ];
    const plan = {
      large: { count: 2, min: 40 * MiB, max: 120 * MiB },
      medium: { count: 5, min: 2 * MiB, max: 40 * MiB },
      small: { count: 20, min: 8 * 1024, max: 2 * MiB },
    };
    const chosen = choosePackages(packages, plan);
    expect(chosen).toHaveLength(27);
    expect(chosen.slice(0, 2).map((p) => p.name)).toEqual(['big5', 'big4']);
    expect(chosen.map((p) => p.name)).not.toContain('huge');
    // The same packages in another order give the same choice.
    expect(choosePackages([...packages].reverse(), plan)).toEqual(chosen);
  });

  it('names store paths with the characters Nix allows', () => {
    expect(storeNameOf({ name: 'libstdc++6', version: '1:12.2.0-14~deb12u1', bytes: 1 })).toBe(
      'libstdc++6-1_12.2.0-14_deb12u1',
    );
  });
});

describe('the benchmark arithmetic', () => {
  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(() => median([])).toThrow();
  });

  it("reads GNU time's line after whatever the command printed", () => {
    expect(parseTimeOutput('warning: something\n6.42 10.50 1.30 746496\n')).toEqual({
      wallSeconds: 6.42,
      cpuSeconds: 11.8,
      peakBytes: 746496 * 1024,
    });
    expect(() => parseTimeOutput('Command exited with non-zero status 1')).toThrow(/GNU time printed/);
  });

  it('counts idle and iowait as not busy in /proc/stat', () => {
    expect(parseProcStat('cpu  100 5 50 1000 20 0 3 0 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 158, total: 1178 });
  });

  it('prints ratios to the baseline and sizes in the tables', () => {
    const row = { runs: [1], peakBytes: 100 * MiB, coresUsed: 1.9, otherLoad: 0.1 };
    const table = mainTable(
      [
        { id: 'a', label: '(a) full', seconds: 6, bytes: 200 * MiB, written: 50 * MiB, ...row },
        { id: 'd', label: '(d) one mksquashfs', seconds: 5, bytes: 190 * MiB, ...row },
      ],
      'd',
      2,
    );
    expect(table).toMatch(/\| \(a\) full +\| 6\.00 s \| 1\.20 +\| 200 MiB \| 50 MiB +\| 100 MiB/);
    expect(table).toMatch(/\| \(d\) one mksquashfs \| 5\.00 s \| 1\.00 +\| 190 MiB \| - +\| 100 MiB/);
    const growth = growthTable(
      {
        name: 'small',
        paths: 100,
        narBytes: 100 * MiB,
        cases: [{ id: 'c', label: '(c)', seconds: 1, bytes: 0, ...row }],
      },
      {
        name: 'big',
        paths: 600,
        narBytes: 300 * MiB,
        cases: [{ id: 'c', label: '(c)', seconds: 1.5, bytes: 0, ...row }],
      },
    );
    expect(growth).toMatch(/\| the closure \| 100 paths, 100 MiB \| 600 paths, 300 MiB \| 6\.0× paths, 3\.0× NAR/);
    expect(growth).toMatch(/\| \(c\) +\| 1\.00 s +\| 1\.50 s +\| 1\.50× +\|/);
    expect(table).toMatch(/\| \(d\) one mksquashfs \| 5\.00 s \| 1\.00 /);
    const sizes = compressorTable(
      [
        {
          compression: 'xz',
          ours: { seconds: 20, bytes: 150 * MiB, peakBytes: 0 },
          baseline: { seconds: 25, bytes: 140 * MiB, peakBytes: 0 },
        },
      ],
      600 * MiB,
    );
    expect(sizes).toMatch(/\| xz +\| 20\.00 s +\| 25\.00 s +\| 0\.80 +\| 150 MiB +\| 140 MiB +\| 1\.071 +\| 25% +\|/);
  });
});
