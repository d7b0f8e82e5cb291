/**
 * Words for a POSIX shell: quoted so the shell reads them back unchanged. The
 * shell loop that runs mksquashfs uses them, and so do the commands we print
 * for people to copy.
 */

/** A word the shell reads back unchanged. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The line that runs `argv` in the shell loop. Pure: tested on its own. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('commandLine needs a command');
  return argv.map(shellQuote).join(' ');
}
