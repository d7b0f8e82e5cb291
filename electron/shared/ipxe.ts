/**
 * The iPXE script of a boot folder. File names are relative to the script,
 * so the same folder works over TFTP and HTTP; the HTTP export rewrites them
 * as absolute URLs ({@link rebaseIpxeScript}), for a script fetched from
 * somewhere else than its files.
 */
import { NetbootError } from './errors.ts';
import { baseUrlProblem } from './export-spec.ts';
import { kernelParamsProblem, kernelParamWords, scriptProblem } from './kernel-params.ts';

export interface IpxeScriptInput {
  /** What the first comment line calls the system. */
  title: string;
  kernel: string;
  /** Initrd file names, in the order they are loaded. */
  initrds: readonly string[];
  /** The toplevel's `init`. */
  init: string;
  /** The system's kernel-params. */
  kernelParams: string;
  /** What the user added with --kernel-params. */
  extraParams?: string;
  /** Fetch the kernel and initrds from here (http:// or https://) instead of next to the script. */
  baseUrl?: string | undefined;
}

/**
 * Split kernel parameters into words as iPXE does; refuse what would change
 * the script's commands (the system's own parameters) or is not a kernel
 * parameter a person may add (`extra`), see kernel-params.ts.
 */
function splitParams(params: string, extra: boolean): string[] {
  const problem = extra ? kernelParamsProblem(params) : scriptProblem(params);
  if (problem) throw new NetbootError(extra ? problem : `The system's own kernel parameters: ${problem}`);
  return kernelParamWords(params);
}

/** The kernel command line: init, one initrd= per initrd (UEFI needs them), then the parameters. */
export function kernelCommandLine(input: IpxeScriptInput): string {
  return [
    `init=${input.init}`,
    ...input.initrds.map((name) => `initrd=${name}`),
    ...splitParams(input.kernelParams, false),
    ...splitParams(input.extraParams ?? '', true),
  ].join(' ');
}

/** The URL of the file `name` in the folder served at `baseUrl`. */
export function fileUrl(baseUrl: string, name: string): string {
  return `${baseUrl.trim().replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
}

/** The `kernel` line: the file (or its URL), then the command line, then what a chaining script adds. */
function kernelLine(kernel: string, commandLine: string, baseUrl: string | undefined): string {
  return `kernel ${baseUrl === undefined ? kernel : fileUrl(baseUrl, kernel)} ${commandLine}`;
}

/**
 * An `initrd` line. Fetched by URL, the image is named explicitly, so the
 * kernel command line's `initrd=NAME` (what UEFI's stub loads) still names it.
 */
function initrdLine(name: string, baseUrl: string | undefined): string {
  return baseUrl === undefined ? `initrd ${name}` : `initrd --name ${name} ${fileUrl(baseUrl, name)}`;
}

function checkBaseUrl(baseUrl: string | undefined): void {
  const problem = baseUrl === undefined ? undefined : baseUrlProblem(baseUrl);
  if (problem) throw new NetbootError(problem);
}

/** The whole `netboot.ipxe`. */
export function ipxeScript(input: IpxeScriptInput): string {
  checkBaseUrl(input.baseUrl);
  // A comment line: no line break or other control character may end it.
  // eslint-disable-next-line no-control-regex
  const title = input.title.replace(/[\0-\x1f\x7f]/g, ' ');
  return [
    '#!ipxe',
    `# ${title}, made by Netboot Composer.`,
    ...(input.baseUrl === undefined ? [] : [`# Its files are fetched from ${input.baseUrl.trim()}.`]),
    '# ${cmdline} lets a script that chains this one (netboot.xyz, say) add kernel parameters.',
    kernelLine(input.kernel, `${kernelCommandLine(input)} \${cmdline}`, input.baseUrl),
    ...input.initrds.map((name) => initrdLine(name, input.baseUrl)),
    'boot',
    '',
  ].join('\n');
}

/**
 * `script` (a `netboot.ipxe` made by {@link ipxeScript}, with file names)
 * fetching its kernel and initrds from `baseUrl` instead: the HTTP export's
 * script, which works wherever it is chained from.
 */
export function rebaseIpxeScript(script: string, baseUrl: string): string {
  checkBaseUrl(baseUrl);
  let kernels = 0;
  const lines = script.split('\n').flatMap((line, index) => {
    const kernel = /^kernel (\S+) (.*)$/.exec(line);
    if (kernel) {
      kernels++;
      if (kernel[1]!.startsWith('-') || kernel[1]!.includes('://')) throw notOurs(line);
      return [kernelLine(kernel[1]!, kernel[2]!, baseUrl)];
    }
    if (line.startsWith('initrd ')) {
      const name = /^initrd ([^\s-][^\s]*)$/.exec(line)?.[1];
      if (name === undefined || name.includes('://')) throw notOurs(line);
      return [initrdLine(name, baseUrl)];
    }
    // After the title, as ipxeScript puts it.
    if (index === 1 && line.startsWith('# ')) return [line, `# Its files are fetched from ${baseUrl.trim()}.`];
    return [line];
  });
  if (kernels !== 1 || lines[0] !== '#!ipxe') throw notOurs(undefined);
  return lines.join('\n');
}

function notOurs(line: string | undefined): NetbootError {
  return new NetbootError(
    `The boot folder's netboot.ipxe is not one Netboot Composer wrote${line === undefined ? '' : ` ("${line}")`}; build the system again.`,
  );
}
