/**
 * `netboot-composer inspect (--toplevel PATH | --dir BOOT)`: what an image is
 * made of. The biggest store paths, the totals, the groups of the size map,
 * and with `--why NAME` the chains of references that pull NAME in.
 */
import { parseArgs } from 'node:util';
import { NetbootError } from '../../pipeline/base/errors.ts';
import { factsOfBootFolder, factsOfToplevel } from '../../pipeline/compose/closure-facts.ts';
import { checkNix } from '../../pipeline/compose/nix-env.ts';
import { readToplevel } from '../../pipeline/compose/resolve.ts';
import {
  biggestPaths,
  closureTotals,
  findPaths,
  groupClosure,
  ramShare,
  whyChains,
  type ClosureFacts,
} from '../../shared/closure-map.ts';
import { closureText, whyText } from '../closure-text.ts';
import { positiveNumber, printJson, UsageError, type Context } from '../context.ts';

export async function runInspect(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      toplevel: { type: 'string' },
      dir: { type: 'string' },
      why: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if ((values.toplevel === undefined) === (values.dir === undefined)) {
    throw new UsageError('Give exactly one of --toplevel PATH (a built system) or --dir BOOT_FOLDER (a build).');
  }
  if (values.why !== undefined && values.why.trim() === '') {
    throw new UsageError('--why takes the name of a store path (app, app-1.0) or the path itself.');
  }
  const top = Math.floor(positiveNumber(values.top, '--top') ?? 15);
  let facts: ClosureFacts;
  if (values.toplevel !== undefined) {
    const system = await readToplevel(values.toplevel);
    await checkNix(context.signal);
    facts = await factsOfToplevel(system.toplevel, context.signal);
  } else facts = await factsOfBootFolder(values.dir!);

  const targets = values.why === undefined ? [] : findPaths(facts, values.why);
  if (values.why !== undefined && targets.length === 0) {
    throw new NetbootError(
      `No store path in the closure of ${facts.toplevel} is named like "${values.why}"; inspect without --why lists the biggest.`,
    );
  }
  if (context.json) {
    printJson(inspectJson(facts, top, values.why, targets));
    return 0;
  }
  process.stdout.write(closureText(facts, top));
  if (targets.length > 0) process.stdout.write(whyText(facts, targets.slice(0, 10), 5));
  return 0;
}

function inspectJson(
  facts: ClosureFacts,
  top: number,
  why: string | undefined,
  targets: ReturnType<typeof findPaths>,
): Record<string, unknown> {
  return {
    event: 'inspect',
    toplevel: facts.toplevel,
    totals: { ...closureTotals(facts), ramBytes: facts.ramBytes, downloadBytes: facts.downloadBytes },
    biggest: biggestPaths(facts, top).map((n) => ({ ...n, ramShare: ramShare(facts, n) })),
    groups: groupClosure(facts).map((g) => ({
      kind: g.kind,
      label: g.label,
      path: g.path,
      paths: g.nodes.map((n) => n.path),
      narSize: g.narSize,
      packedBytes: g.packedBytes,
    })),
    ...(why === undefined
      ? {}
      : { why: { query: why, matches: targets.map((t) => ({ path: t.path, chains: whyChains(facts, t.path) })) } }),
  };
}
