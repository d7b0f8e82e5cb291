import type { ErrorInfo } from '../../electron/shared/ipc.ts';

/** One human sentence first; the tool output behind "Details". */
export function ErrorBanner({ error, title }: { error: ErrorInfo; title?: string }) {
  return (
    <div className="banner banner-error" role="alert">
      <strong>{title ?? (error.kind === 'bug' ? 'Something went wrong' : 'That did not work')}</strong>
      <p>{error.message}</p>
      {error.details ? (
        <details>
          <summary>Details</summary>
          <pre className="details">{error.details}</pre>
        </details>
      ) : null}
    </div>
  );
}
