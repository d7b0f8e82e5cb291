import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../context.tsx';
import { STEPS, type Step } from '../store/index.ts';

const LABELS: Record<Step, string> = { system: 'System', options: 'Options', build: 'Build', result: 'Result' };

/** The four steps across the top; a step is reachable once what it needs exists. */
export function Stepper() {
  const step = useApp((s) => s.step);
  const goTo = useApp((s) => s.goTo);
  const reachable = useApp(
    useShallow((s): Record<Step, boolean> => ({
      system: s.buildStatus !== 'running',
      options: s.summary !== undefined && s.buildStatus !== 'running',
      build: s.buildStatus !== 'idle',
      result: s.outcome !== undefined && s.buildStatus !== 'running',
    })),
  );
  const current = STEPS.indexOf(step);
  return (
    <nav className="stepper" aria-label="Steps">
      <ol>
        {STEPS.map((name, index) => (
          <li key={name} className={index < current ? 'done' : index === current ? 'current' : ''}>
            <button
              type="button"
              onClick={() => goTo(name)}
              disabled={!reachable[name]}
              aria-current={name === step ? 'step' : undefined}
            >
              <span className="step-number" aria-hidden="true">
                {index < current ? '✓' : index + 1}
              </span>
              {LABELS[name]}
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}
