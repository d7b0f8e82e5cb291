/**
 * The result slice (the export form, a draft per kind; the export as it
 * runs; the script's copy): its creator, the form's prompts, and the pure
 * helpers draftSpec and previewScript (the Result step's live preview of the
 * script). Its interface is in state.ts.
 */
import { kernelFileName, INITRD_NAMES, initrdNames, isStoreFile } from '../../electron/shared/boot-folder.ts';
import { baseUrlProblem, subdirProblem } from '../../electron/shared/export-spec.ts';
import { ipxeScript } from '../../electron/shared/ipxe.ts';
import type { BuildOptions, NetbootApi, Purpose, SystemSummary } from '../../electron/shared/ipc.ts';
import type { ExportKind, ExportSpec } from '../../electron/shared/types.ts';
import { call, draftFrom, IDLE_EXPORT, newJobId } from './shared.ts';
import type { ExportDraft, ExportProblem, GetState, ResultSlice, SetState } from './state.ts';

const DIR_PROMPTS: Record<Exclude<ExportKind, 'usb-image'>, string> = {
  folder: 'Choose the folder to export to.',
  tftp: 'Choose the folder your TFTP server serves.',
  http: 'Choose the folder your HTTP server serves.',
  usb: 'Choose a USB stick.',
};

const FOLDER_PURPOSES: Record<Exclude<ExportKind, 'usb-image'>, Purpose> = {
  folder: 'export',
  tftp: 'tftp',
  http: 'http',
  usb: 'usb',
};

/** The export the draft describes, or the first thing to fix. Pure: the form and its tests use it. */
export function draftSpec(draft: ExportDraft): { spec: ExportSpec } | { problem: ExportProblem } {
  const problem = (field: ExportProblem['field'], message: string) => ({ problem: { field, message } });
  if (draft.kind === 'usb-image') {
    const file = draft.file.trim();
    if (file === '') return problem('file', 'Choose where to save the image.');
    if (!file.startsWith('/') || file.endsWith('/')) {
      return problem('file', 'The image is a file named by its full path, e.g. /home/me/nixos.img.');
    }
    return { spec: { kind: 'usb-image', file } };
  }
  const dir = draft.dirs[draft.kind].trim();
  if (dir === '') return problem('dir', DIR_PROMPTS[draft.kind]);
  if (!dir.startsWith('/')) return problem('dir', 'The folder is named by its full path, starting with /.');
  switch (draft.kind) {
    case 'folder':
    case 'usb':
      return { spec: { kind: draft.kind, dir } };
    case 'tftp': {
      const subdir = draft.subdir.trim();
      const wrong = subdirProblem(subdir);
      if (wrong) return problem('subdir', wrong);
      return { spec: { kind: 'tftp', dir, ...(subdir ? { subdir } : {}) } };
    }
    case 'http': {
      const wrong = baseUrlProblem(draft.baseUrl);
      if (wrong) return problem('baseUrl', wrong);
      return { spec: { kind: 'http', dir, baseUrl: draft.baseUrl.trim() } };
    }
  }
}

/** The script the build writes for these options: the Result step's live preview. */
export function previewScript(
  summary: SystemSummary,
  options: BuildOptions,
  files?: readonly { name: string }[],
): string {
  const { system } = summary;
  const built = initrdNames((files ?? []).map((f) => f.name));
  try {
    return ipxeScript({
      title: `${system.name} (NixOS ${system.nixosVersion}, ${options.arch})`,
      kernel: kernelFileName(options.arch),
      // The build's own initrds (the store may be several files), else the usual three.
      initrds: built.some(isStoreFile) ? built : INITRD_NAMES,
      init: system.init,
      kernelParams: system.kernelParams,
      extraParams: options.kernelParams,
    });
  } catch (error) {
    return `# ${(error as Error).message}\n`;
  }
}

export function createResultSlice(api: NetbootApi, set: SetState, get: GetState): ResultSlice {
  return {
    drives: undefined,
    exportDraft: draftFrom(undefined),
    exportState: IDLE_EXPORT,
    copied: false,
    async refreshDrives() {
      const drives = await call(() => api.drivesList({}));
      const list = drives.ok ? drives.value : [];
      set({ drives: list });
      // One stick: it is the one.
      const draft = get().exportDraft;
      if (list.length === 1 && !list.some((d) => d.mountpoint === draft.dirs.usb)) {
        set({ exportDraft: { ...draft, dirs: { ...draft.dirs, usb: list[0]!.mountpoint } } });
      }
    },
    setExportDraft({ dir, ...patch }) {
      const draft = { ...get().exportDraft, ...patch };
      if (dir !== undefined && draft.kind !== 'usb-image') draft.dirs = { ...draft.dirs, [draft.kind]: dir };
      set({ exportDraft: draft });
    },
    async chooseExportDestination() {
      const draft = get().exportDraft;
      if (draft.kind === 'usb-image') {
        const file = await call(() =>
          api.dialogChooseFile({ purpose: 'usb-image', ...(draft.file ? { defaultPath: draft.file } : {}) }),
        );
        if (!file.ok) return set({ exportState: { ...IDLE_EXPORT, status: 'failed', error: file.error } });
        if (file.value) get().setExportDraft({ file: file.value });
        return;
      }
      const current = draft.dirs[draft.kind];
      const folder = await call(() =>
        api.dialogChooseFolder({
          purpose: FOLDER_PURPOSES[draft.kind as Exclude<ExportKind, 'usb-image'>],
          ...(current.startsWith('/') ? { defaultPath: current } : {}),
        }),
      );
      if (!folder.ok) return set({ exportState: { ...IDLE_EXPORT, status: 'failed', error: folder.error } });
      if (folder.value) get().setExportDraft({ dir: folder.value });
    },
    async startExport() {
      const { outcome, exportDraft, exportState } = get();
      const checked = draftSpec(exportDraft);
      if (!outcome || !('spec' in checked) || exportState.status === 'running') return;
      const { spec } = checked;
      const jobId = newJobId('export');
      set({ exportState: { ...IDLE_EXPORT, status: 'running', job: jobId, spec } });
      const answer = await call(() => api.exportStart({ jobId, from: outcome.outDir, spec }));
      if (get().exportState.job !== jobId) return;
      if (answer.ok) {
        const summary = answer.value;
        set({ exportState: { ...get().exportState, status: 'done', job: undefined, summary } });
        if (summary.kind === 'usb-image' && summary.file) set({ usbImage: summary.file });
        const settings = await call(() => api.settingsGet({}));
        if (settings.ok) set({ settings: settings.value });
      } else {
        const canceled = answer.error.kind === 'canceled';
        set({
          exportState: {
            ...get().exportState,
            status: canceled ? 'canceled' : 'failed',
            job: undefined,
            error: canceled ? undefined : answer.error,
          },
        });
      }
    },
    cancelExport() {
      const jobId = get().exportState.job;
      if (jobId) void call(() => api.jobCancel({ jobId }));
    },
    async showFolder(path) {
      await call(() => api.shellShowFolder({ path }));
    },
    async copyScript() {
      const script = get().outcome?.script;
      if (script === undefined) return;
      const answer = await call(() => api.clipboardWrite({ text: script }));
      set({ copied: answer.ok });
      if (answer.ok) setTimeout(() => set({ copied: false }), 2000);
    },
  };
}
