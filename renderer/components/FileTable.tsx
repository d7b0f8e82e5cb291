import type { OutputFile } from '../../electron/shared/types.ts';
import { formatBytes } from '../../electron/shared/progress.ts';

/** Files and their sizes: the boot folder's, or what an export wrote. */
export function FileTable({ files, label }: { files: readonly OutputFile[]; label: string }) {
  return (
    <table className="files" aria-label={label}>
      <tbody>
        {files.map((f) => (
          <tr key={f.name}>
            <td>{f.name}</td>
            <td className="num">{formatBytes(f.bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
