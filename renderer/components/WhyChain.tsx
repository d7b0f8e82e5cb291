/**
 * Why a store path is in the image: the chains of references from the
 * system's toplevel to it, the shortest first, as `nix why-depends` shows
 * one, from the registration read once (no Nix call per click). Each step
 * is a button: following a chain selects that path in turn.
 */
import { useMemo } from 'react';
import { pathName, whyChains, type ClosureFacts, type ClosureNode } from '../../electron/shared/closure-map.ts';
import { formatBytes } from '../../electron/shared/progress.ts';

export function WhyChain({
  facts,
  target,
  onSelect,
}: {
  facts: ClosureFacts;
  target: ClosureNode;
  onSelect: (path: string | undefined) => void;
}) {
  const chains = useMemo(() => whyChains(facts, target.path, 4), [facts, target.path]);
  const name = pathName(target.path);
  return (
    <section className="why" aria-labelledby="why-title">
      <div className="card-title-row">
        <h4 id="why-title">
          Why <code>{name}</code> is here
        </h4>
        <button type="button" className="link" onClick={() => onSelect(undefined)}>
          Clear
        </button>
      </div>
      <p className="muted">
        {formatBytes(target.narSize)} unpacked
        {target.packedBytes === undefined ? '' : `, ${formatBytes(target.packedBytes)} packed`};{' '}
        {target.path === facts.toplevel
          ? 'it is the system itself.'
          : `${chains.length === 1 ? 'one chain' : `${chains.length} chains`} of references lead to it, the shortest first.`}
      </p>
      {chains.map((chain) => (
        <ol key={chain.join(' ')} className="chain" aria-label={`Chain of ${chain.length - 1} references`}>
          {chain.map((path) => (
            <li key={path}>
              <button
                type="button"
                className={path === target.path ? 'chain-step current' : 'chain-step'}
                aria-current={path === target.path ? 'true' : undefined}
                title={path}
                onClick={() => onSelect(path)}
              >
                {pathName(path)}
              </button>
            </li>
          ))}
        </ol>
      ))}
    </section>
  );
}
