/**
 * The schema of every request the page can send. Main validates each payload
 * before it touches anything: the page is treated as untrusted input.
 */
import { z } from 'zod';
import { INITRD_LEVELS, levelFits, SQUASHFS_LEVELS } from '../shared/compression.ts';
import { baseUrlProblem, subdirProblem } from '../shared/export-spec.ts';
import type { InvokeChannel } from '../shared/ipc.ts';
import { kernelParamsProblem } from '../shared/kernel-params.ts';
import { ARCHES, FIRMWARES, INITRD_COMPRESSORS, SQUASHFS_COMPRESSORS } from '../shared/types.ts';

const ipv4 = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address, e.g. 10.0.0.100')
  .refine((a) => a.split('.').every((p) => Number(p) <= 255), 'an IPv4 address, e.g. 10.0.0.100');

const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a job id is 1 to 64 letters, digits, - or _');

/** Line breaks, NUL and the other control characters: no text from the page needs them. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x1f\x7f]/;

/**
 * An absolute path as a folder picker gives it: from /, no control
 * characters (a line break would end a line of a dnsmasq snippet), no "." or
 * ".." parts (what it names is what it says).
 */
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) =>
      p.startsWith('/') &&
      !CONTROL.test(p) &&
      p
        .split('/')
        .slice(1)
        .every((part) => part !== '.' && part !== '..'),
    'an absolute path without control characters or . and .. parts',
  );

/** A flake reference: Nix reads it as a string (nix.ts quotes it), so only its length and characters are held. */
const flakeRef = z
  .string()
  .min(1)
  .max(4096)
  .refine((ref) => !CONTROL.test(ref), 'a flake reference without control characters');

export const systemSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('toplevel'), path: absolutePath }).strict(),
  z
    .object({
      kind: z.literal('flake'),
      ref: flakeRef,
      name: z
        .string()
        .max(200)
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.'-]*$/, 'a nixosConfigurations name'),
    })
    .strict(),
  // The aarch64 demo: Debian's arm64 kernel and busybox (the x86_64 one without arch).
  z.object({ kind: z.literal('demo'), arch: z.enum(ARCHES).optional() }).strict(),
]);

const level = z.number().int().min(0).max(22).optional();

export const buildOptionsSchema = z
  .object({
    arch: z.enum(ARCHES),
    squashfs: z
      .object({ name: z.enum(SQUASHFS_COMPRESSORS), level })
      .strict()
      .refine((c) => levelFits(SQUASHFS_LEVELS, c.name, c.level), 'a level this compressor takes'),
    initrd: z
      .object({ name: z.enum(INITRD_COMPRESSORS), level })
      .strict()
      .refine((c) => levelFits(INITRD_LEVELS, c.name, c.level), 'a level this compressor takes'),
    kernelParams: z
      .string()
      .max(4096)
      .superRefine((params, ctx) => {
        const problem = kernelParamsProblem(params);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict();

const empty = z.object({}).strict();

/** Where an export goes; the text fields are held to what the page checks (electron/shared/export-spec.ts). */
export const exportSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folder'), dir: absolutePath }).strict(),
  z
    .object({
      kind: z.literal('tftp'),
      dir: absolutePath,
      subdir: z
        .string()
        .max(256)
        .refine((name) => subdirProblem(name) === undefined, 'folder names of letters, digits, . _ - (nested with /)')
        .optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('http'),
      dir: absolutePath,
      baseUrl: z
        .string()
        .max(2048)
        .refine((url) => baseUrlProblem(url) === undefined, 'an http:// or https:// URL without ? or #'),
    })
    .strict(),
  z.object({ kind: z.literal('usb'), dir: absolutePath }).strict(),
  z.object({ kind: z.literal('usb-image'), file: absolutePath }).strict(),
]);

/** At least 64 MiB: less would not hold even a small system. */
export const cacheLimitSchema = z
  .number()
  .int()
  .min(64 * 1024 ** 2)
  .max(2 ** 50);

export const requestSchemas = {
  'app:info': empty,
  'system:resolve': z.object({ jobId, source: systemSourceSchema }).strict(),
  'flake:list': z.object({ jobId, ref: flakeRef }).strict(),
  'build:start': z.object({ jobId, source: systemSourceSchema, options: buildOptionsSchema }).strict(),
  'job:cancel': z.object({ jobId }).strict(),
  'export:start': z.object({ jobId, from: absolutePath, spec: exportSpecSchema }).strict(),
  'boot:start': z
    .object({ jobId, dir: absolutePath, firmware: z.enum(FIRMWARES), usbImage: absolutePath.optional() })
    .strict(),
  'drives:list': empty,
  'dialog:choose-folder': z
    .object({
      purpose: z.enum(['flake', 'system', 'export', 'tftp', 'http', 'usb']),
      defaultPath: absolutePath.optional(),
    })
    .strict(),
  'dialog:choose-file': z.object({ purpose: z.enum(['usb-image']), defaultPath: absolutePath.optional() }).strict(),
  'shell:show-folder': z.object({ path: absolutePath }).strict(),
  'clipboard:write': z.object({ text: z.string().max(1_000_000) }).strict(),
  'settings:get': empty,
  'settings:set': z
    .object({
      options: buildOptionsSchema.optional(),
      lastExport: exportSpecSchema.optional(),
      cacheLimitBytes: cacheLimitSchema.optional(),
    })
    .strict(),
  'cache:stats': empty,
  'cache:prune': z
    .object({
      maxBytes: z
        .number()
        .int()
        .min(0)
        .max(2 ** 50)
        .optional(),
    })
    .strict(),
  'closure:inspect': z.union([z.object({ dir: absolutePath }).strict(), z.object({ toplevel: absolutePath }).strict()]),
  'serve:interfaces': empty,
  'serve:start': z
    .object({
      jobId,
      dirs: z.array(absolutePath).min(1).max(16),
      iface: z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'an interface name is 1 to 15 letters, digits, _ . @ or -'),
      range: z.object({ start: ipv4, end: ipv4 }).strict().optional(),
    })
    .strict(),
  'serve:reload': z.object({ jobId }).strict(),
} satisfies { [C in InvokeChannel]: z.ZodType };
