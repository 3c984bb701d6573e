/**
 * Label names (and colours) from a segmentation's sidecar, in the formats other tools write:
 * - ITK-SNAP label description file (`.txt` / `.label`): `IDX R G B A VIS MSH "NAME"` per line, `#` comments;
 * - 3D Slicer `.seg.nrrd`: header fields `SegmentN_LabelValue:=`, `SegmentN_Name:=`, `SegmentN_Color:=` (0..1 floats);
 * - JSON: `[{ "value": 1, "name": "spleen", "color": [r, g, b] }]` (as a bundle manifest's labels) or `{ "1": "spleen" }`.
 * Each parser is pure (text in, names out); `findSidecar` decides where to look.
 */
import { existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { z } from 'zod'
import { SegError } from '../errors'
import { LIMITS } from '../limits'
import { printableOneLine } from '../../shared/editing/labels'

export interface NamedLabel {
  value: number
  name: string
  color?: [number, number, number]
}

/** Largest sidecar we read (bytes): real ones are a few kB. */
export const MAX_SIDECAR_BYTES = 1024 * 1024

const Value = z.number().int().min(1).max(65535)
const Name = z.string().trim().min(1).max(LIMITS.nameChars)
const Rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])
const JsonNames = z.union([
  z.array(z.object({ value: z.number().int().min(0).max(65535), name: Name, color: Rgb.optional() })).max(LIMITS.classes),
  z.record(z.string().regex(/^\d+$/), Name)
])

/** Names from a JSON sidecar; background (0) entries are dropped. */
export function parseJsonNames(text: string, file: string): NamedLabel[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new SegError('BAD_ARGUMENT', `${file} is not valid JSON; expected [{"value": 1, "name": "..."}] or {"1": "..."}`)
  }
  const r = JsonNames.safeParse(raw)
  if (!r.success) throw new SegError('BAD_ARGUMENT', `${file}: ${r.error.issues[0].message} at ${r.error.issues[0].path.join('.') || 'top level'}; expected [{"value": 1, "name": "..."}] or {"1": "..."}`)
  const list = Array.isArray(r.data) ? r.data : Object.entries(r.data).map(([v, name]) => ({ value: Number(v), name }))
  return checkedNames(list.filter((l) => l.value !== 0), file)
}

/** Names and colours from an ITK-SNAP label description file; the "Clear Label" (0) line is dropped. */
export function parseItkSnapNames(text: string, file: string): NamedLabel[] {
  const out: NamedLabel[] = []
  for (const [n, line] of text.split(/\r?\n/).entries()) {
    if (/^\s*(#|$)/.test(line)) continue
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+\d+\s+\d+\s+"(.*)"\s*$/.exec(line)
    if (!m) throw new SegError('BAD_ARGUMENT', `${file} line ${n + 1} is not an ITK-SNAP label line; expected IDX R G B A VIS MSH "NAME"`)
    if (Number(m[1]) === 0) continue
    out.push({ value: Number(m[1]), name: m[5], color: [Number(m[2]), Number(m[3]), Number(m[4])] })
  }
  return checkedNames(out, file)
}

/** Segment names of a Slicer .seg.nrrd header (the text before the blank line). */
export function parseSlicerSegNames(header: string, file: string): NamedLabel[] {
  const fields = new Map<string, string>()
  for (const m of header.matchAll(/^Segment(\d+)_(\w+):=(.*)$/gm)) fields.set(`${m[1]}.${m[2]}`, m[3].trim())
  const out: NamedLabel[] = []
  for (let s = 0; fields.has(`${s}.Name`); s++) {
    const color = fields.get(`${s}.Color`)?.split(/\s+/).map((c) => Math.round(Number(c) * 255))
    out.push({
      value: Number(fields.get(`${s}.LabelValue`) ?? s + 1),
      name: fields.get(`${s}.Name`) as string,
      color: color?.length === 3 && color.every((c) => c >= 0 && c <= 255) ? (color as [number, number, number]) : undefined
    })
  }
  return checkedNames(out, file)
}

/** A names list checked (values 1..65535 once each, names printable on one line within LIMITS.nameChars) and trimmed. */
export function checkedNames(list: NamedLabel[], file: string): NamedLabel[] {
  if (list.length > LIMITS.classes) throw new SegError('BAD_ARGUMENT', `${file} names ${list.length} labels; expected at most ${LIMITS.classes} (LIMITS.classes)`)
  const seen = new Set<number>()
  for (const l of list) {
    if (!Value.safeParse(l.value).success) throw new SegError('BAD_ARGUMENT', `${file} names label value ${l.value}; expected integers from 1 to 65535`)
    if (!Name.safeParse(l.name).success) throw new SegError('BAD_ARGUMENT', `${file}: the name of label ${l.value} must have 1 to ${LIMITS.nameChars} characters`)
    // The name becomes an edited map's and a taught bundle's label name: the manifest's rule (Name).
    if (!printableOneLine(l.name)) throw new SegError('BAD_ARGUMENT', `${file}: the name of label ${l.value} holds a tab, line break or other control character; expected printable characters on one line`)
    if (seen.has(l.value)) throw new SegError('BAD_ARGUMENT', `${file} names label ${l.value} twice; expected each value once`)
    seen.add(l.value)
  }
  // Stored as checked: a name padded past LIMITS.nameChars passed here and failed at export.
  return list.map((l) => ({ ...l, name: l.name.trim() }))
}

/** The segmentation's path without its image extension (`a/b.seg.nrrd` → `a/b`). */
export function stemOf(path: string): string {
  return path.replace(/(\.seg)?\.(nii\.gz|nii|nrrd|nhdr|mha|mhd)$/i, '')
}

/** The sidecar next to a segmentation, first found of `<stem>.json`, `<stem>.txt`, `<stem>.label`; else null. */
export function findSidecar(segPath: string): string | null {
  const stem = stemOf(segPath)
  return ['.json', '.txt', '.label'].map((e) => stem + e).find((p) => existsSync(p)) ?? null
}

/** Reads at most MAX_SIDECAR_BYTES (+1 to tell a larger file) of a text file. */
export async function readSmallText(path: string, limit = MAX_SIDECAR_BYTES): Promise<{ text: string; truncated: boolean }> {
  const fh = await open(path, 'r').catch(() => {
    throw new SegError('FILE_NOT_FOUND', `${path} cannot be read; expected a label names file`)
  })
  try {
    const buf = Buffer.alloc(limit + 1)
    const { bytesRead } = await fh.read(buf, 0, limit + 1, 0)
    return { text: buf.subarray(0, Math.min(bytesRead, limit)).toString('utf8'), truncated: bytesRead > limit }
  } finally {
    await fh.close()
  }
}

/** Names from a sidecar file, by its extension (.json → JSON, else ITK-SNAP). */
export async function readSidecarNames(path: string): Promise<NamedLabel[]> {
  const { text, truncated } = await readSmallText(path)
  const file = basename(path)
  if (truncated) throw new SegError('TOO_LARGE', `${file} is larger than ${MAX_SIDECAR_BYTES} bytes; expected a label names file of a few kB`)
  return path.toLowerCase().endsWith('.json') ? parseJsonNames(text, file) : parseItkSnapNames(text, file)
}

/** Segment names in a .seg.nrrd's header, or [] for any other file. */
export async function readSlicerSegNames(path: string): Promise<NamedLabel[]> {
  if (!/\.seg\.nrrd$/i.test(path)) return []
  const { text } = await readSmallText(path, 256 * 1024)
  const end = text.search(/\r?\n\r?\n/)
  return parseSlicerSegNames(end < 0 ? text : text.slice(0, end), basename(path))
}
