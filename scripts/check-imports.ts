/**
 * `npm run check` step: the source tree has no import cycle. Every relative
 * import of the app's code (electron/, renderer/, bench/, scripts/), type-only
 * ones included, is an arrow; a cycle is a set of files that import each other
 * round, which makes the folder layers meaningless (a base that reaches a
 * stage through a third file). Which folder may import which is ESLint's job
 * (eslint.config.js); this finds the loops it cannot see.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const ROOTS = ['electron', 'renderer', 'bench', 'scripts'];
const SOURCE = /\.(ts|tsx)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files `file` imports by a relative path (repository-relative). */
export function importsOf(file: string, text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'))
    .map((name) => normalize(join(dirname(file), name)));
}

/** The strongly connected components of more than one file, or of one that imports itself (Tarjan). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

if (import.meta.main) {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap(sourceFiles)) {
    graph.set(file, importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
  }
  const loops = cycles(graph);
  for (const loop of loops) {
    console.error(`Import cycle: ${loop.join(', ')}`);
    for (const file of loop) {
      const into = graph.get(file)!.filter((target) => loop.includes(target));
      console.error(`  ${file} imports ${into.map((target) => relative(dirname(file), target)).join(', ')}`);
    }
  }
  if (loops.length > 0) {
    console.error('Break each cycle: move what both files need into a module below them.');
    process.exit(1);
  }
  console.log(`No import cycle among ${graph.size} source files.`);
}
