/**
 * What kernel parameters a person may add, in one sentence when they may
 * not: the Options form says it, main's schema refuses the same text, the
 * CLI exits with it, and the pipeline checks it again before it writes a
 * script. Shared so that the four cannot disagree.
 *
 * The parameters end up on one line in three languages: netboot.ipxe's
 * `kernel` line (electron/shared/ipxe.ts), syslinux.cfg's APPEND line and
 * grub.cfg's `linux` line (electron/pipeline/export/usb-layout.ts). iPXE reads
 * a script line by line, splits each on white space, ends a command at a word
 * that is exactly `;`, `&&` or `||`, and ignores the rest of the line from a
 * word that starts with `#` (src/core/exec.c); it expands `${setting}` inside
 * a word after splitting, so a setting cannot add words or commands. GRUB gets
 * every word shell-quoted. syslinux takes APPEND to the end of its line. So
 * what could add a command, or silently drop the parameters after it, is a
 * line break or one of those words. GRUB then hands the words to the kernel
 * with a backslash before every ', " and \ (grub-core/lib/cmdline.c), so
 * those are refused too: everything else reaches the kernel as it was typed,
 * from all three (the hostile-input tests boot each and read /proc/cmdline).
 */

/** The kernel's own limit on x86 is 2048 bytes for the whole command line; this leaves room for ours. */
export const MAX_KERNEL_PARAMS = 1024;

/** Words that end an iPXE command: what follows would run as a command of its own. */
const IPXE_SEPARATORS = new Set([';', '&&', '||']);

/** A word as a message quotes it: a long one cut short. */
function shown(word: string): string {
  return word.length > 40 ? `${word.slice(0, 40)}…` : word;
}

/** The words of `params` as every reader of the scripts splits them: on spaces and tabs only. */
export function kernelParamWords(params: string): string[] {
  return params.split(/[ \t]+/).filter((word) => word.length > 0);
}

/**
 * Why `params` would change netboot.ipxe's commands rather than the kernel's
 * command line, or undefined: a line break or control character, a word iPXE
 * reads as the end of a command, or a comment. The system's own parameters
 * are held to this; what a person adds, to {@link kernelParamsProblem}.
 */
export function scriptProblem(params: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x08\n-\x1f\x7f]/.test(params)) {
    return 'Kernel parameters must be on one line, without control characters such as line breaks.';
  }
  for (const word of kernelParamWords(params)) {
    if (IPXE_SEPARATORS.has(word)) {
      return `"${shown(word)}" on its own cannot be a kernel parameter: iPXE would read it as the end of the kernel command and run what follows as another command.`;
    }
    if (word.startsWith('#')) {
      return `A kernel parameter cannot start with "#" ("${shown(word)}"): iPXE would read it and the rest of the line as a comment.`;
    }
  }
  return undefined;
}

/**
 * Characters GRUB hands to the kernel with a backslash before them
 * (grub_create_loader_cmdline, grub-core/lib/cmdline.c): the UEFI boot of a
 * USB stick would not pass them as typed.
 */
export const GRUB_ESCAPED = /['"\\]/;

/**
 * Why `params` cannot be added to the kernel's command line, or undefined
 * when it can: {@link scriptProblem}, a length the kernel would cut, an
 * `initrd=` of its own (we name the initrds), or a quote or backslash, which
 * GRUB would pass with a backslash added (see {@link GRUB_ESCAPED}). Words
 * are separated by spaces; a word may hold any other printable character,
 * `$`, `;`, `&`, `|`, `<`, `(`, `{` and `*` included, and reaches the kernel
 * as typed from netboot.ipxe, syslinux.cfg and grub.cfg alike.
 */
export function kernelParamsProblem(params: string): string | undefined {
  const problem = scriptProblem(params);
  if (problem) return problem;
  if (params.length > MAX_KERNEL_PARAMS) {
    return `Kernel parameters can be at most ${MAX_KERNEL_PARAMS} characters long (the kernel's command line is limited).`;
  }
  const initrd = kernelParamWords(params).find((word) => word.startsWith('initrd='));
  if (initrd !== undefined) {
    return `Netboot Composer names the initrds itself, so "${shown(initrd)}" cannot be added: leave out initrd=.`;
  }
  if (GRUB_ESCAPED.test(params)) {
    return `Kernel parameters cannot hold ', " or \\: GRUB, which boots USB media under UEFI, would hand them to the kernel with a backslash added.`;
  }
  return undefined;
}
