/**
 * The serial console of a test boot: an xterm.js terminal, read-only, fitted
 * to its box. The one module that touches xterm, so component tests (jsdom,
 * where xterm cannot measure text) replace it with a stand-in.
 *
 * xterm 6's DOM renderer writes its theme, fonts and row layout into <style>
 * elements it adds to the page. The page's CSP (`style-src 'self'`, see
 * index.html) refuses those, and a refused sheet leaves the terminal without
 * colours, monospace or `white-space: pre`. So while xterm opens, the <style>
 * elements it asks the document for are stand-ins whose text goes into
 * constructed style sheets (`document.adoptedStyleSheets`), which the CSP
 * allows: the same rules, applied, and no violation. (24-bit colours, set as
 * style attributes, stay refused; firmware, iPXE and Linux consoles use the
 * 16 ANSI colours.)
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

export interface ConsoleTerminal {
  /** Raw console output, escape sequences and all. */
  write(data: string): void;
  dispose(): void;
}

/** Dark in both themes: firmware and boot loaders assume light text on a dark screen. */
const THEME: ITheme = {
  background: '#11151b',
  foreground: '#d8dee9',
  cursor: '#d8dee9',
  selectionBackground: '#3b4a66',
  // Black backgrounds (iPXE clears lines with them) are the terminal's own.
  black: '#11151b',
  red: '#ef6b73',
  green: '#6cc67f',
  yellow: '#e5c07b',
  blue: '#6d9eff',
  magenta: '#c58af9',
  cyan: '#56c8d8',
  white: '#d8dee9',
  brightBlack: '#7a8494',
  brightRed: '#ff8a91',
  brightGreen: '#8be39b',
  brightYellow: '#ffd88a',
  brightBlue: '#93b6ff',
  brightMagenta: '#dcb0ff',
  brightCyan: '#84e1ec',
  brightWhite: '#ffffff',
};

/** A stand-in for a <style> element: its text becomes the constructed style sheet `sheet` of `doc`. */
function adoptedStyle(doc: Document, sheet: CSSStyleSheet, create: (tag: string) => HTMLElement): HTMLElement {
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  const element = create('span');
  element.hidden = true;
  let text = '';
  Object.defineProperty(element, 'textContent', {
    get: () => text,
    set: (value: string | null) => {
      text = value ?? '';
      sheet.replaceSync(text);
    },
  });
  return element;
}

/**
 * Run `open` with `doc.createElement('style')` answering stand-ins (xterm
 * makes its style elements as it opens); returns the sheets they fill.
 */
function withAdoptedStyles(doc: Document, open: () => void): CSSStyleSheet[] {
  const sheets: CSSStyleSheet[] = [];
  const create = doc.createElement.bind(doc) as (tag: string, options?: ElementCreationOptions) => HTMLElement;
  Object.defineProperty(doc, 'createElement', {
    configurable: true,
    value: (tag: string, options?: ElementCreationOptions) => {
      if (tag.toLowerCase() !== 'style') return create(tag, options);
      const sheet = new CSSStyleSheet();
      sheets.push(sheet);
      return adoptedStyle(doc, sheet, create);
    },
  });
  try {
    open();
  } finally {
    // The own property goes; Document.prototype.createElement is back.
    delete (doc as { createElement?: unknown }).createElement;
  }
  return sheets;
}

/** Open a read-only terminal in `container`, fitted to it as it resizes. */
export function createConsoleTerminal(container: HTMLElement): ConsoleTerminal {
  const terminal = new Terminal({
    disableStdin: true,
    convertEol: true,
    scrollback: 5000,
    cursorBlink: false,
    cursorInactiveStyle: 'none',
    fontFamily: "ui-monospace, 'JetBrains Mono', 'DejaVu Sans Mono', monospace",
    fontSize: 13,
    theme: THEME,
  });
  // SeaBIOS's serial console turns line wrapping off (CSI ? 7 l) to mirror its
  // 80×25 screen, and nothing turns it back on, so the kernel's and stage 1's
  // long lines would be cut at the right edge. Here they wrap; the firmware's
  // 80 columns fit the terminal either way.
  terminal.parser.registerCsiHandler({ prefix: '?', final: 'l' }, (params) => params.length === 1 && params[0] === 7);
  // Nothing is typed into it: Tab and Shift+Tab move on, as everywhere else on the page.
  terminal.attachCustomKeyEventHandler((event) => event.key !== 'Tab');
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  const doc = container.ownerDocument;
  const sheets = withAdoptedStyles(doc, () => terminal.open(container));
  const refit = (): void => {
    // A box that is not laid out (hidden, or being removed) has no size to fit.
    if (container.clientWidth > 0 && container.clientHeight > 0) fit.fit();
  };
  refit();
  const observer = new ResizeObserver(refit);
  observer.observe(container);
  return {
    write: (data) => terminal.write(data),
    dispose: () => {
      observer.disconnect();
      terminal.dispose();
      doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((sheet) => !sheets.includes(sheet));
    },
  };
}
