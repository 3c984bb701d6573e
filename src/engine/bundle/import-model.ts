/**
 * `import-model`: wrap a plain ONNX segmentation model in a bundle, with everything its model card
 * says about input, preprocessing and labels declared in the manifest — so no model-specific code
 * is ever needed in the engine.
 */
import path from 'node:path'
import { createHash } from 'node:crypto'
import * as ort from 'onnxruntime-node'
import { SegError } from '../errors'
import { parseJsonText, readBoundedFile, writeBundle, type Bundle } from './bundle'
import type { LabelInfo, ManifestInput } from './manifest'

/** Distinct, readable default colours (ITK-SNAP-like) for labels that come without one. */
const PALETTE: [number, number, number][] = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 239, 213],
  [0, 0, 205], [205, 133, 63], [210, 180, 140], [102, 205, 170], [0, 0, 128], [0, 139, 139], [46, 139, 87]
]

export function defaultColor(value: number): [number, number, number] {
  return value === 0 ? [0, 0, 0] : PALETTE[(value - 1) % PALETTE.length]
}

/**
 * Reads a label list in any of the formats in circulation:
 * - brainchop/NiiVue colormap: `{ "R": [...], "G": [...], "B": [...], "labels": [...] }` (index = value);
 * - a list: `[{ "value": 1, "name": "spleen", "color": [r,g,b] }, ...]` (color optional);
 * - a map: `{ "0": "background", "1": "spleen" }` (MONAI/nnU-Net style; nnU-Net's `{ "spleen": 1 }` too).
 */
export function parseLabels(raw: unknown, where: string): LabelInfo[] {
  const bad = (why: string) =>
    new SegError('BAD_ARGUMENT', `${where}: ${why}; expected a brainchop colormap {R,G,B,labels}, a list of {value,name,color}, or a {"value": "name"} map`)
  if (Array.isArray(raw)) {
    return raw.map((e, i) => {
      if (typeof e !== 'object' || e === null || typeof (e as any).name !== 'string') throw bad(`entry ${i} has no name`)
      const value = (e as any).value ?? i
      if (!Number.isInteger(value) || value < 0) throw bad(`entry ${i} has an invalid value`)
      const color = (e as any).color ?? defaultColor(value)
      return { value, name: (e as any).name, color }
    })
  }
  if (typeof raw === 'object' && raw !== null) {
    const o = raw as Record<string, unknown>
    if (Array.isArray(o.labels)) {
      const names = o.labels as unknown[]
      const ch = (k: string, i: number) => (Array.isArray(o[k]) && typeof (o[k] as unknown[])[i] === 'number' ? ((o[k] as number[])[i]) : undefined)
      return names.map((n, i) => {
        if (typeof n !== 'string') throw bad(`labels[${i}] is not a string`)
        const r = ch('R', i), g = ch('G', i), b = ch('B', i)
        return { value: i, name: n, color: r !== undefined && g !== undefined && b !== undefined ? [r, g, b] : defaultColor(i) }
      })
    }
    const entries = Object.entries(o)
    if (entries.length === 0) throw bad('it is empty')
    return entries
      .map(([k, v]) => {
        if (/^\d+$/.test(k) && typeof v === 'string') return { value: Number(k), name: v, color: defaultColor(Number(k)) }
        if (typeof v === 'number' && Number.isInteger(v)) return { value: v, name: k, color: defaultColor(v) }
        throw bad(`entry '${k}' is neither "value": "name" nor "name": value`)
      })
      .sort((a, b) => a.value - b.value)
  }
  throw bad('it is not an object or a list')
}

export interface ImportModelOptions {
  /** The plain ONNX file. */
  onnxPath: string
  /** A labels file (see parseLabels). */
  labelsPath: string
  out: string
  name?: string
  description?: string
  /** Everything the model card says, in manifest form; fields left out get defaults below. */
  channels?: ManifestInput['channels']
  geometry?: ManifestInput['geometry']
  inference?: ManifestInput['inference']
  output?: Omit<ManifestInput['output'], 'labels'>
  axisOrder?: 'zyx' | 'xyz'
  license?: string
}

export async function importModel(opts: ImportModelOptions): Promise<Bundle> {
  const bytes = await readBoundedFile(opts.onnxPath, 'an .onnx file', 'modelBytes')
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(bytes)
  } catch (e) {
    throw new SegError('MODEL_MISMATCH', `${opts.onnxPath} is not a loadable ONNX model (${String((e as Error).message).split('\n')[0]})`)
  }
  const inputName = session.inputNames[0]
  const outputName = session.outputNames[0]
  await session.release()
  const labelsText = (await readBoundedFile(opts.labelsPath, 'a labels JSON file', 'manifestBytes')).toString('utf8')
  const labelsRaw = parseJsonText(labelsText, `labels file ${opts.labelsPath}`, 'BAD_ARGUMENT', 'a labels JSON file')
  const labels = parseLabels(labelsRaw, opts.labelsPath)
  const manifest: ManifestInput = {
    format: 'segtransfer-bundle',
    version: 1,
    name: opts.name ?? path.basename(opts.onnxPath, '.onnx'),
    description: opts.description ?? '',
    model: { file: 'model.onnx', input: inputName, output: outputName, axisOrder: opts.axisOrder ?? 'zyx' },
    channels: opts.channels ?? [{ name: 'image', modality: 'other', normalization: { kind: 'minmax' } }],
    geometry: opts.geometry ?? { mode: 'native' },
    inference: opts.inference ?? { mode: 'whole', divisibleBy: 1 },
    output: { kind: 'softmax', ...opts.output, labels },
    provenance: [
      {
        date: new Date().toISOString(),
        operation: 'import-model',
        source: path.resolve(opts.onnxPath),
        tool: 'segtransfer',
        details: { sha256: createHash('sha256').update(bytes).digest('hex'), labels: path.resolve(opts.labelsPath) }
      }
    ],
    ...(opts.license ? { license: opts.license } : {})
  }
  return writeBundle(opts.out, manifest, bytes)
}
