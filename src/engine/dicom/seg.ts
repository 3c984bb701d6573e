/**
 * DICOM-SEG out and in, through dcmqi (@itk-wasm/dicom writeSegmentationNode /
 * readSegmentationNode), the converter 3D Slicer uses.
 *
 * The SEG references its source series: dcmqi copies the Frame of Reference, study and patient
 * modules from the given source files and lists their SOP instances; the label map must lie on
 * the series' own grid (as segment() returns it).
 */
import { readOverlappingSegmentationNode, readSegmentationNode, writeSegmentationNode } from '@itk-wasm/dicom'
import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import dicomParser from 'dicom-parser'
import { SegError } from '../errors'
import { produceAtomically } from '../fs/atomic'
import { itkGrid, toItkImage, toVoxelArray } from '../volume/itk-image'
import type { Volume } from '../volume/volume'
import type { Manifest } from '../bundle/manifest'
import { withQuietOutput } from './quiet'

/** A coded concept (DICOM code sequence item). */
export interface Code {
  value: string
  scheme: string
  meaning: string
}

export interface SegLabel {
  value: number
  name: string
  color: [number, number, number]
  /** SNOMED-CT category/type from the manifest; else looked up by name, else generic "Tissue". */
  category?: Code
  type?: Code
}

export interface SegMeta {
  labels: readonly SegLabel[]
  /** Bundle name and version (SegmentAlgorithmName). */
  algorithm: string
  /** AUTOMATIC for a model's output, MANUAL once a person edited it. */
  algorithmType: 'AUTOMATIC' | 'MANUAL' | 'SEMIAUTOMATIC'
  seriesDescription?: string
}

/** SegmentAlgorithmName: the bundle's name and version (its last provenance date), within 64 characters. */
export function algorithmName(m: Manifest): string {
  const version = m.provenance.at(-1)?.date.slice(0, 10) ?? `v${m.version}`
  return `${m.name.slice(0, 63 - version.length)} ${version}`
}

const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning })
const TISSUE = sct('85756007', 'Tissue')
const ANATOMY = sct('91723000', 'Anatomical Structure')
const SUBSTANCE = sct('91720002', 'Body Substance')

/** SNOMED-CT concepts of label names we know (DICOM CID 7150 categories, CID 7153/7166 types). */
const KNOWN_CODES: Record<string, [Code, Code]> = {
  csf: [SUBSTANCE, sct('65216001', 'Cerebrospinal fluid')],
  'cerebrospinal fluid': [SUBSTANCE, sct('65216001', 'Cerebrospinal fluid')],
  'grey matter': [TISSUE, sct('389081007', 'Gray matter')],
  'gray matter': [TISSUE, sct('389081007', 'Gray matter')],
  'white matter': [TISSUE, sct('389080008', 'White matter')],
  brain: [ANATOMY, sct('12738006', 'Brain')],
  'spinal cord': [ANATOMY, sct('2748008', 'Spinal cord')],
  spleen: [ANATOMY, sct('78961009', 'Spleen')]
}

/** The category and type codes of a label: the manifest's, else the known table's, else Tissue. */
export function codesOf(label: SegLabel): [Code, Code] {
  const known = KNOWN_CODES[label.name.trim().toLowerCase()]
  return [label.category ?? known?.[0] ?? TISSUE, label.type ?? known?.[1] ?? TISSUE]
}

const codeJson = (c: Code) => ({ CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning })

/** dcmqi's seg-schema metadata for the foreground labels present in the map. */
export function dcmqiMetaInfo(meta: SegMeta, present: ReadonlySet<number>): Record<string, unknown> {
  const segments = meta.labels
    .filter((l) => l.value > 0 && present.has(l.value))
    .map((l) => {
      const [category, type] = codesOf(l)
      return {
        labelID: l.value,
        SegmentLabel: l.name.slice(0, 64),
        SegmentDescription: l.name.slice(0, 64),
        SegmentAlgorithmType: meta.algorithmType,
        ...(meta.algorithmType === 'MANUAL' ? {} : { SegmentAlgorithmName: meta.algorithm.slice(0, 64) }),
        SegmentedPropertyCategoryCodeSequence: codeJson(category),
        SegmentedPropertyTypeCodeSequence: codeJson(type),
        recommendedDisplayRGBValue: l.color
      }
    })
  return {
    ContentCreatorName: 'SegTransfer',
    ClinicalTrialSeriesID: '1',
    ClinicalTrialTimePointID: '1',
    ClinicalTrialCoordinatingCenterName: 'SegTransfer',
    SeriesDescription: (meta.seriesDescription ?? `Segmentation (${meta.algorithm})`).slice(0, 64),
    SeriesNumber: '300',
    InstanceNumber: '1',
    ContentLabel: 'SEGMENTATION',
    ContentDescription: meta.algorithm.slice(0, 64),
    BodyPartExamined: '',
    segmentAttributes: [segments]
  }
}

/** Label values present in a map (0 included when present). */
function presentValues(labels: Volume): Set<number> {
  const seen = new Set<number>()
  for (let i = 0; i < labels.data.length; i++) seen.add(labels.data[i])
  return seen
}

/**
 * Writes a label map as DICOM-SEG referencing its source series, atomically (writeDicomSegTo on a
 * temp file beside `outPath`, moved into place when complete).
 * @param opts.overwrite replace an existing file at `outPath` (the caller has checked the output rules).
 */
export async function writeDicomSeg(labels: Volume, source: readonly { path: string }[], meta: SegMeta, outPath: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  await produceAtomically(outPath, '.dcm', (temp) => writeDicomSegTo(labels, source, meta, temp, outPath), opts)
}

/**
 * Writes a label map as DICOM-SEG at `path` itself, not atomically: for a caller whose own atomic
 * write (writeOutputsAtomically) gives the temp path, so that there is one temp file, not two.
 * Throws BAD_ARGUMENT when a label in the map has no name in `meta.labels`, or the map is empty.
 * @param labels label map on the source series' grid (integer values).
 * @param source the source series' files (any order; dcmqi matches frames by position): DicomFiles or
 *   just their paths (a Volume's `source.files`).
 * @param path a .dcm path (dcmqi picks the format by the extension).
 * @param outPath the output `path` stands for, named in messages.
 * @throws SegError OUTPUT_CONFLICT when dcmqi fails (its wasm build throws a bare number, no text).
 */
export async function writeDicomSegTo(labels: Volume, source: readonly { path: string }[], meta: SegMeta, path: string, outPath = path): Promise<void> {
  const present = presentValues(labels)
  const unnamed = [...present].filter((v) => v > 0 && !meta.labels.some((l) => l.value === v))
  if (unnamed.length > 0) throw new SegError('BAD_ARGUMENT', `label value(s) ${unnamed.join(', ')} have no name; expected every label of the map in the bundle's output.labels`)
  if (![...present].some((v) => v > 0)) throw new SegError('BAD_ARGUMENT', 'the label map is empty (no foreground voxel); a DICOM-SEG needs at least one segment')
  const tooBig = [...present].find((v) => v > 32767 || !Number.isInteger(v))
  if (tooBig !== undefined) throw new SegError('BAD_ARGUMENT', `label value ${tooBig} cannot be a DICOM-SEG segment; expected integers 1..32767`)
  // dcmqi's converter takes int16 label images (uint8/uint16 abort inside the wasm build).
  const image = toItkImage(labels, Int16Array.from(labels.data as ArrayLike<number>))
  try {
    await withQuietOutput(() =>
      writeSegmentationNode(image, dcmqiMetaInfo(meta, present) as never, path, {
        refDicomSeries: source.map((f) => f.path),
        skipEmptySlices: false,
        useLabelidAsSegmentnumber: false
      })
    )
  } catch (e) {
    if (e instanceof SegError) throw e
    const said = e instanceof Error ? `: ${dcmqiSaid(e)}` : ' without a message'
    throw new SegError('OUTPUT_CONFLICT', `${resolve(outPath)} could not be written: the DICOM-SEG converter (dcmqi) failed${said}; expected the scan's DICOM files as opened (each a readable slice) and a writable folder with room`)
  }
}

export interface ReadSeg {
  /** Labels: segment numbers merged into one map (0 = none). */
  labels: Volume
  segments: { number: number; label: string; category: string; type: string; color?: [number, number, number] }[]
}

/** dcmqi's recommendedDisplayRGBValue as a colour, when it is three values in 0..255. */
function displayColor(rgb: unknown): { color?: [number, number, number] } {
  if (!Array.isArray(rgb) || rgb.length !== 3) return {}
  const c = rgb.map(Number)
  return c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255) ? { color: c as [number, number, number] } : {}
}

/** The first line of what a failed dcmqi call threw (its wasm build may throw a bare number). */
const dcmqiSaid = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200)

type SegResult = Awaited<ReturnType<typeof readSegmentationNode>>

/**
 * Reads a DICOM-SEG file (binary or fractional, non-overlapping segments) as one label map.
 * @throws SegError CORRUPT_FILE when dcmqi cannot read it, BAD_ARGUMENT when two segments share a voxel.
 */
export async function readDicomSeg(path: string): Promise<ReadSeg> {
  let r: SegResult
  try {
    r = (await withQuietOutput(() => readSegmentationNode(resolve(path)))).value
  } catch (e) {
    // dcmqi's merging reader aborts in wasm ("null function or function signature mismatch") on
    // segments that overlap or are not numbered 1..n; its layered reader reads those, merged here.
    r = await readSegmentLayers(path, e)
  }
  const meta = r.metaInfo as { segmentAttributes?: Record<string, unknown>[][] }
  const segments = (meta.segmentAttributes ?? []).flat().map((s) => ({
    number: Number(s.labelID),
    label: String(s.SegmentLabel ?? s.SegmentDescription ?? ''),
    category: String((s.SegmentedPropertyCategoryCodeSequence as Record<string, string> | undefined)?.CodeMeaning ?? ''),
    type: String((s.SegmentedPropertyTypeCodeSequence as Record<string, string> | undefined)?.CodeMeaning ?? ''),
    ...displayColor(s.recommendedDisplayRGBValue)
  }))
  const { data } = toVoxelArray(r.segImage.data)
  return { labels: { ...itkGrid(r.segImage), data }, segments }
}

/**
 * A SEG read as layers (dcmqi's overlapping reader: one vector component per group of segments that
 * do not overlap), merged into one label map when no voxel is in two segments.
 * @param failed what the merging reader threw, said when this reader fails too.
 */
async function readSegmentLayers(path: string, failed: unknown): Promise<SegResult> {
  let r: SegResult
  try {
    r = (await withQuietOutput(() => readOverlappingSegmentationNode(resolve(path), { mergeSegments: false }))).value
  } catch {
    throw new SegError('CORRUPT_FILE', `${basename(path)} could not be read as DICOM-SEG (${dcmqiSaid(failed)}); expected a Segmentation object`)
  }
  // The layered reader empties the frames of segments numbered past their count: refuse those first.
  const numbers = await segmentNumbers(path)
  if (numbers.some((n, i) => n !== i + 1)) {
    throw new SegError('CORRUPT_FILE', `${basename(path)} numbers its segments ${numbers.slice(0, 8).join(', ')}${numbers.length > 8 ? ', …' : ''}; expected segment numbers 1, 2, 3… in order (DICOM PS3.3 C.8.20.2)`)
  }
  return { ...r, segImage: { ...r.segImage, data: mergeLayers(r.segImage.data as Int16Array, r.segImage.imageType.components, basename(path)) } }
}

/** The SegmentNumber of each item of a SEG's SegmentSequence, in order (dicom-parser, header only). */
async function segmentNumbers(path: string): Promise<number[]> {
  const ds = dicomParser.parseDicom(await readFile(path), { untilTag: 'x7fe00010' } as dicomParser.ParseDicomOptions)
  return (ds.elements.x00620002?.items ?? []).map((it) => it.dataSet?.uint16('x00620004') ?? 0)
}

/**
 * Layers (`layers` values a voxel, interleaved) as one label map.
 * @throws SegError BAD_ARGUMENT naming the first two segments that share a voxel.
 */
function mergeLayers(data: Int16Array, layers: number, file: string): Int16Array {
  const out = new Int16Array(data.length / layers)
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < layers; k++) {
      const v = data[i * layers + k]
      if (v === 0) continue
      if (out[i] !== 0 && out[i] !== v) {
        throw new SegError('BAD_ARGUMENT', `${file} has overlapping segments (${out[i]} and ${v} share voxel ${i}); expected non-overlapping segments, as a label layer holds one label a voxel`)
      }
      out[i] = v
    }
  }
  return out
}
