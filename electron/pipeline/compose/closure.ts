/**
 * The closure of a system: every store path it needs, with the facts Nix
 * registered for each (hash, size, references). Two `nix-store` runs, however
 * large the closure.
 */
import { NetbootError } from '../base/errors.ts';
import { runTool } from '../base/tools.ts';
import { checkNix, nixStoreDumpDbArgs, nixStoreRequisitesArgs } from './nix-env.ts';

export interface RegisteredPath {
  path: string;
  /** The NAR hash as `nix-store --dump-db` prints it (base16 SHA-256). */
  narHash: string;
  narSize: number;
  deriver: string;
  references: string[];
}

export interface Closure {
  paths: RegisteredPath[];
  /** `nix-store --dump-db` of every path: what stage 2 loads with `--load-db`. */
  registration: string;
  totalBytes: number;
}

/** A registration that is not what `nix-store --dump-db` writes. */
export class RegistrationError extends NetbootError {
  /** What is wrong with it, to follow "the registration": "ends early: the size of X is missing". */
  readonly problem: string;

  constructor(problem: string) {
    super(`The Nix registration ${problem}.`);
    this.name = 'RegistrationError';
    this.problem = problem;
  }
}

/**
 * Parse `nix-store --dump-db` output: per path, its name, hash, NAR size,
 * deriver (maybe empty), the number of references, then the references.
 */
export function parseRegistration(text: string): RegisteredPath[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const paths: RegisteredPath[] = [];
  let i = 0;
  const next = (what: string): string => {
    const line = lines[i++];
    if (line === undefined) throw new RegistrationError(`ends early: ${what} is missing`);
    return line;
  };
  while (i < lines.length) {
    const path = next('a store path');
    const narHash = next(`the hash of ${path}`);
    const narSize = Number(next(`the size of ${path}`));
    const deriver = next(`the deriver of ${path}`);
    const count = Number(next(`the reference count of ${path}`));
    if (!path.startsWith('/') || !Number.isSafeInteger(narSize) || !Number.isSafeInteger(count)) {
      throw new RegistrationError(`is not in the format nix-store --dump-db writes (at ${path})`);
    }
    const references: string[] = [];
    for (let r = 0; r < count; r++) references.push(next(`a reference of ${path}`));
    paths.push({ path, narHash, narSize, deriver, references });
  }
  return paths;
}

/** Query the closure of `storePath` from the local Nix store. */
export async function queryClosure(storePath: string, signal?: AbortSignal): Promise<Closure> {
  await checkNix(signal);
  const requisites = await runTool('nix-store', nixStoreRequisitesArgs(storePath), {
    what: `nix-store --query --requisites ${storePath}`,
    signal,
  });
  const pathList = requisites.split('\n').filter((line) => line.length > 0);
  if (pathList.length === 0) throw new NetbootError(`Nix reports an empty closure for ${storePath}.`);
  const what = `nix-store --dump-db (the registration of the closure of ${storePath})`;
  const registration = await runTool('nix-store', nixStoreDumpDbArgs(pathList), { what, signal });
  let paths: RegisteredPath[];
  try {
    paths = parseRegistration(registration);
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    throw new NetbootError(
      `The registration nix-store --dump-db printed for the closure of ${storePath} ${error.problem}; build again, and if it happens again check the store with nix-store --verify.`,
      { cause: error, details: registration },
    );
  }
  const listed = new Set(paths.map((p) => p.path));
  const missing = pathList.find((p) => !listed.has(p));
  if (missing !== undefined) {
    throw new NetbootError(`${what} did not describe ${missing}; check the store with nix-store --verify.`);
  }
  return { paths, registration, totalBytes: paths.reduce((sum, p) => sum + p.narSize, 0) };
}
