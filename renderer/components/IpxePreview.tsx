import type { ReactNode } from 'react';

/** Colour an iPXE script: comments, commands, ${variables}, key=value parameters. */
export function highlightIpxe(script: string): ReactNode[] {
  const lines = script.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, index) => {
    const parts: ReactNode[] = [];
    if (line.startsWith('#')) {
      parts.push(
        <span key="c" className="tok-comment">
          {line}
        </span>,
      );
    } else {
      line.split(/(\s+)/).forEach((word, i) => {
        if (i === 0 && word) {
          parts.push(
            <span key={i} className="tok-command">
              {word}
            </span>,
          );
        } else if (/^\$\{[^}]*\}$/.test(word)) {
          parts.push(
            <span key={i} className="tok-var">
              {word}
            </span>,
          );
        } else if (/^[\w.-]+=/.test(word)) {
          const eq = word.indexOf('=');
          parts.push(
            <span key={i}>
              <span className="tok-key">{word.slice(0, eq)}</span>=
              <span className="tok-value">{word.slice(eq + 1)}</span>
            </span>,
          );
        } else parts.push(word);
      });
    }
    return (
      <span key={index} className="line">
        {parts}
        {'\n'}
      </span>
    );
  });
}

export function IpxePreview({ script }: { script: string }) {
  return (
    <pre className="code" aria-label="netboot.ipxe" tabIndex={0}>
      <code>{highlightIpxe(script)}</code>
    </pre>
  );
}
