/**
 * The numbers a reliability suite measured (faults injected, payloads
 * rejected, descriptors before and after...), written to
 * test-results/reliability/SUITE.json for the README's Reliability section
 * (`node scripts/reliability.ts` prints it from the last run).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './fixtures.ts';

export interface Figure {
  /** What was counted or measured, in plain words. */
  what: string;
  value: string | number;
}

export const FIGURES_DIR = join(ROOT, 'test-results', 'reliability');

/** Record `suite`'s figures and its known gaps (plain sentences), replacing the last run's. */
export async function recordFigures(
  suite: string,
  figures: readonly Figure[],
  gaps: readonly string[] = [],
): Promise<void> {
  await mkdir(FIGURES_DIR, { recursive: true });
  const record = { suite, at: new Date().toISOString(), figures, gaps };
  await writeFile(join(FIGURES_DIR, `${suite}.json`), `${JSON.stringify(record, null, 2)}\n`);
}
