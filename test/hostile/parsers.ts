/**
 * How the programs that read our files split them, written down from their
 * sources, so a test can count the commands a file holds: iPXE scripts
 * (src/image/script.c and src/core/exec.c), GRUB's configuration language
 * (grub-core/script/yylex.l, the parts our grub.cfg uses), syslinux.cfg
 * (one keyword a line) and dnsmasq's configuration (one option a line,
 * quotes with \\ and \" escapes).
 */

/** iPXE's isspace: the ASCII white space. */
const IPXE_SPACE = /[ \t\n\v\f\r]+/;

/**
 * The commands iPXE runs from `script`, each as its words (settings not yet
 * expanded): lines joined at a trailing backslash, a `:label` dropped, a word
 * starting with `#` ending the line, `;`, `&&` and `||` ending a command.
 */
export function ipxeCommands(script: string): string[][] {
  const commands: string[][] = [];
  let pending = '';
  for (const raw of script.split('\n')) {
    let line = pending + raw.replace(/\r$/, '');
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1);
      continue;
    }
    pending = '';
    line = line.replace(/^[ \t\n\v\f\r]+/, '');
    if (line.startsWith(':')) line = line.replace(/^:\S*/, '');
    let command: string[] = [];
    for (const word of line.split(IPXE_SPACE).filter((w) => w.length > 0)) {
      if (word.startsWith('#')) break;
      if (word === ';' || word === '&&' || word === '||') {
        if (command.length > 0) commands.push(command);
        command = [];
        continue;
      }
      command.push(word);
    }
    if (command.length > 0) commands.push(command);
  }
  return commands;
}

/** A GRUB command: its words (quotes removed), and whether a word had something GRUB would expand or refuse. */
export interface GrubCommand {
  words: string[];
  /** An unquoted `$` (a variable GRUB expands) or `|`, `&`, `<`, `>` (which its parser refuses). */
  unquotedSpecial: boolean;
}

/**
 * The commands of a GRUB configuration, as GRUB's lexer splits it: words on
 * blanks; `;` and line ends between commands; `{` and `}` as words of their
 * own; `#` starting a word starts a comment; '...' literal; "..." with `\`
 * escapes; `\` outside quotes escaping the next character.
 */
export function grubCommands(config: string): GrubCommand[] {
  const commands: GrubCommand[] = [];
  let words: string[] = [];
  let word: string | undefined;
  let special = false;
  const endWord = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push({ words, unquotedSpecial: special });
    words = [];
    special = false;
  };
  for (let i = 0; i < config.length; i++) {
    const c = config[i]!;
    if (c === ' ' || c === '\t') endWord();
    else if (c === '\n' || c === ';') endCommand();
    else if (c === '#' && word === undefined) {
      while (i < config.length && config[i] !== '\n') i++;
      endCommand();
    } else if ((c === '{' || c === '}') && word === undefined && /[\s;]/.test(config[i + 1] ?? '\n')) {
      endWord();
      words.push(c);
    } else if (c === "'") {
      const end = config.indexOf("'", i + 1);
      if (end < 0) throw new Error('an unterminated single quote');
      word = (word ?? '') + config.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      for (i++; i < config.length && config[i] !== '"'; i++) {
        if (config[i] === '\\' && '"\\$\n'.includes(config[i + 1] ?? '')) i++;
        else if (config[i] === '$') special = true;
        text += config[i];
      }
      if (i >= config.length) throw new Error('an unterminated double quote');
      word = (word ?? '') + text;
    } else if (c === '\\') {
      word = (word ?? '') + (config[i + 1] ?? '');
      i++;
    } else {
      if ('$|&<>'.includes(c)) special = true;
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}

/** syslinux.cfg's lines that do something (not comments, not blank), keyword first. */
export function syslinuxLines(config: string): { keyword: string; rest: string }[] {
  return config
    .split('\n')
    .map((line) => line.replace(/^\s+/, ''))
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const space = line.search(/\s/);
      return space < 0
        ? { keyword: line.toUpperCase(), rest: '' }
        : { keyword: line.slice(0, space).toUpperCase(), rest: line.slice(space + 1) };
    });
}

/**
 * dnsmasq's reading of an option's value: fields split at commas outside
 * quotes, a `#` after a blank outside quotes starting a comment, quoted
 * parts unescaped (\\, \", \t, \n, \r).
 */
export function dnsmasqFields(value: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') quoted = !quoted;
    else if (quoted && c === '\\' && i + 1 < value.length) {
      const next = value[++i]!;
      field += next === 't' ? '\t' : next === 'n' ? '\n' : next === 'r' ? '\r' : next;
    } else if (!quoted && c === '#' && (i === 0 || /\s/.test(value[i - 1]!))) break;
    else if (!quoted && c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error(`an unterminated quote in ${value}`);
  fields.push(field);
  return fields;
}

/** The options of a dnsmasq configuration, one a line: comments and blank lines left out, values as fields. */
export function dnsmasqOptions(config: string): { key: string; fields: string[] }[] {
  return config
    .split('\n')
    .filter((line) => line.trim().length > 0 && !line.trimStart().startsWith('#'))
    .map((line) => {
      const equals = line.indexOf('=');
      return equals < 0
        ? { key: line.trim(), fields: [] }
        : { key: line.slice(0, equals).trim(), fields: dnsmasqFields(line.slice(equals + 1)) };
    });
}
