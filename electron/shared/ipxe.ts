/**
 * The iPXE script of a boot folder. File names are relative to the script,
 * so the same folder works over TFTP and HTTP.
 */
import { NetbootError } from './errors.ts';

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
}

/** Split kernel parameters on white space; reject characters that would break the script. */
function splitParams(params: string): string[] {
  if (/[\r\n]/.test(params)) throw new NetbootError('Kernel parameters must be on one line.');
  return params.split(/\s+/).filter((p) => p.length > 0);
}

/** The kernel command line: init, one initrd= per initrd (UEFI needs them), then the parameters. */
export function kernelCommandLine(input: IpxeScriptInput): string {
  return [
    `init=${input.init}`,
    ...input.initrds.map((name) => `initrd=${name}`),
    ...splitParams(input.kernelParams),
    ...splitParams(input.extraParams ?? ''),
  ].join(' ');
}

/** The whole `netboot.ipxe`. */
export function ipxeScript(input: IpxeScriptInput): string {
  const title = input.title.replace(/[\r\n]/g, ' ');
  return [
    '#!ipxe',
    `# ${title}, made by Netboot Composer.`,
    '# ${cmdline} lets a script that chains this one (netboot.xyz, say) add kernel parameters.',
    `kernel ${input.kernel} ${kernelCommandLine(input)} \${cmdline}`,
    ...input.initrds.map((name) => `initrd ${name}`),
    'boot',
    '',
  ].join('\n');
}
