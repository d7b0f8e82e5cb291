import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { absoluteFlakeRef, flakeToplevelExpr, nixPath, nixString, parseFlakeArg } from '../../electron/pipeline/nix.ts';

/** What the real Nix evaluator makes of an expression. */
function evaluate(expr: string): unknown {
  return JSON.parse(
    execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { encoding: 'utf8' }),
  );
}

describe('talking to Nix', () => {
  it('quotes any text so that Nix reads it back unchanged', () => {
    const nasty = 'a "quoted" \\ back${slash} $HOME ${ünïcödé} \n newline';
    expect(evaluate(nixString(nasty))).toBe(nasty);
    expect(evaluate(`toString ${nixPath('/tmp/with space/and "quote"')}`)).toBe('/tmp/with space/and "quote"');
  });

  it('reads REF#NAME', () => {
    expect(parseFlakeArg('.#router')).toEqual({ ref: '.', name: 'router' });
    expect(parseFlakeArg('github:me/infra#nixosConfigurations.nas')).toEqual({ ref: 'github:me/infra', name: 'nas' });
    expect(() => parseFlakeArg('.')).toThrow(/write REF#NAME/);
    expect(() => parseFlakeArg('#x')).toThrow(/write REF#NAME/);
  });

  it('makes local flake folders absolute and leaves remote references alone', () => {
    expect(absoluteFlakeRef('.', '/home/me/infra')).toBe('/home/me/infra');
    expect(absoluteFlakeRef('../x', '/home/me/infra')).toBe('/home/me/x');
    expect(absoluteFlakeRef('path:./x', '/home/me')).toBe('path:/home/me/x');
    expect(absoluteFlakeRef('github:me/infra', '/home/me')).toBe('github:me/infra');
    expect(absoluteFlakeRef('git+https://example.org/x.git', '/')).toBe('git+https://example.org/x.git');
  });

  it('asks for the toplevel of the configuration with the netboot module added', () => {
    const expr = flakeToplevelExpr('/home/me/infra', 'router', '/app/assets/nix/netboot.nix');
    expect(expr).toContain('builtins.getFlake "/home/me/infra"');
    expect(expr).toContain('flake.nixosConfigurations."router"');
    expect(expr).toContain('extendModules { modules = [ (/. + "/app/assets/nix/netboot.nix") ]; }');
    expect(expr).toMatch(/\.config\.system\.build\.toplevel$/);
  });
});
