/**
 * The README's Reliability section, from the figures the last test run
 * recorded (test/helpers/figures.ts writes test-results/reliability/*.json):
 * `node scripts/reliability.ts` prints it, `--write` puts it into README.md
 * between its reliability markers.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';

const ROOT = join(import.meta.dirname, '..');
const FIGURES = join(ROOT, 'test-results', 'reliability');
const START = '<!-- reliability:start (node scripts/reliability.ts --write) -->';
const END = '<!-- reliability:end -->';

interface SuiteFigures {
  suite: string;
  at: string;
  figures: { what: string; value: string | number }[];
  gaps: string[];
}

/** Each suite's title and the test files behind it, in the order the section shows them. */
const SUITES: { prefix: string; title: string }[] = [
  { prefix: 'faults-', title: 'Faults (`test/faults/`)' },
  { prefix: 'hostile-', title: 'Hostile input (`test/hostile/`)' },
  {
    prefix: 'electron-',
    title: 'The Electron surface (`test/main/electronegativity.test.ts`, `test/main/main-packaged.test.ts`)',
  },
];

function cell(value: string | number): string {
  return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The section's markdown from the recorded suites. Pure: tested on its own. */
export function reliabilitySection(suites: readonly SuiteFigures[]): string {
  const lines: string[] = [];
  const last = suites
    .map((s) => s.at)
    .sort()
    .at(-1);
  lines.push(`Figures from the last full run of \`npm test\`${last ? ` (${last.slice(0, 10)})` : ''}.`, '');
  const gaps: string[] = [];
  for (const { prefix, title } of SUITES) {
    const group = suites.filter((s) => s.suite.startsWith(prefix)).sort((a, b) => a.suite.localeCompare(b.suite));
    if (group.length === 0) continue;
    lines.push(`### ${title}`, '', '| suite | what | figure |', '| --- | --- | --- |');
    for (const suite of group) {
      for (const figure of suite.figures)
        lines.push(`| ${suite.suite} | ${cell(figure.what)} | ${cell(figure.value)} |`);
      gaps.push(...suite.gaps);
    }
    lines.push('');
  }
  if (gaps.length > 0) {
    lines.push('### Known gaps', '');
    for (const gap of [...new Set(gaps)]) lines.push(`- ${gap}`);
    lines.push('');
  }
  return lines.join('\n');
}

function readSuites(): SuiteFigures[] {
  let names: string[];
  try {
    names = readdirSync(FIGURES).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((name) => JSON.parse(readFileSync(join(FIGURES, name), 'utf8')) as SuiteFigures);
}

if (import.meta.main) {
  const suites = readSuites();
  if (suites.length === 0) {
    console.error(`No figures in ${FIGURES}: run npm test first.`);
    process.exit(1);
  }
  const section = reliabilitySection(suites);
  if (process.argv.includes('--write')) {
    const readmePath = join(ROOT, 'README.md');
    const readme = readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) {
      console.error(`README.md has no reliability markers (${START} ... ${END}).`);
      process.exit(1);
    }
    const text = `${readme.slice(0, start + START.length)}\n\n${section}\n${readme.slice(end)}`;
    // Prettier checks the README (npm run check): write it as Prettier would.
    const options = (await resolveConfig(readmePath)) ?? {};
    writeFileSync(readmePath, await format(text, { ...options, filepath: readmePath }));
    console.log(`README.md: the Reliability section from ${suites.length} suites.`);
  } else {
    process.stdout.write(section);
  }
}
