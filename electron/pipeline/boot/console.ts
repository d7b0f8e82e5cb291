/**
 * Reading a test boot's serial console: lines as a person reads them, and
 * the lines that mean the boot failed.
 */

/** Escape sequences the firmware prints (colours, cursor moves), removed before matching. */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1bc/g;

/** Control characters other than tab. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** One console line as a person would read it. */
export function cleanConsoleLine(line: string): string {
  return line.replace(ANSI, '').replace(CONTROL, '').trimEnd();
}
