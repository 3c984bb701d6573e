/**
 * Header fuzzing of the volume reader, shared by test/volume/fuzz.test.ts (a few hundred cases)
 * and scripts/fuzz.ts (`npm run fuzz`, 10,000+). Seeds are the public scans in ../shared/data
 * (NIfTI-1 little- and big-endian, a NIfTI-2 fixture) and NRRD/MHA written from them. Each case
 * mutates a seed's header (special values in typed fields, bit flips, text tokens, deleted lines,
 * truncation), writes it, reads it with readVolume under a deadline and judges the outcome:
 * a plausible volume, or one SegError line with a known code. Deterministic for a given seed.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { writeImageNode } from '@itk-wasm/image-io'
import { SegError, type SegErrorCode } from '../../src/engine/errors'
import { readVolume } from '../../src/engine/volume/read'
import { toItkImage } from '../../src/engine/volume/itk-image'
import { geometryProblem } from '../../src/engine/volume/plausible'
import type { Volume } from '../../src/engine/volume/volume'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'

export interface FuzzSeed {
  name: string
  kind: 'nifti1' | 'nifti2' | 'text'
  ext: '.nii' | '.nrrd' | '.mha'
  /** Decompressed bytes. */
  bytes: Uint8Array
  /** Bytes of the header (the region mutated). */
  header: number
  littleEndian: boolean
}

/** The fuzz's deterministic PRNG in [0, 1): the project's one mulberry32. */
export const rng = mulberry32

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
const int = (r: () => number, n: number): number => Math.floor(r() * n)

/** The seeds: NIfTI files from `dataDir`, the NIfTI-2 fixture, NRRD and MHA written from t1_RAS and spine/t2. */
export async function loadSeeds(dataDir: string, nifti2Fixture: string, workDir: string): Promise<FuzzSeed[]> {
  const seeds: FuzzSeed[] = []
  const nifti = (name: string, path: string): void => {
    const bytes = new Uint8Array(gunzipSync(readFileSync(path)))
    const v = new DataView(bytes.buffer)
    const n2 = v.getInt32(0, true) === 540 || v.getInt32(0, false) === 540
    const littleEndian = v.getInt32(0, true) === (n2 ? 540 : 348)
    seeds.push({ name, kind: n2 ? 'nifti2' : 'nifti1', ext: '.nii', bytes, header: n2 ? 544 : 352, littleEndian })
  }
  nifti('t1_RAS', join(dataDir, 'geometry/t1_RAS.nii.gz'))
  nifti('minimal_no_orientation', join(dataDir, 'geometry/minimal_no_orientation.nii.gz'))
  nifti('spine_t2', join(dataDir, 'spine/t2.nii.gz'))
  nifti('nifti2', nifti2Fixture)
  for (const src of ['geometry/t1_RAS.nii.gz', 'spine/t2.nii.gz']) {
    const v = await readVolume(join(dataDir, src))
    for (const ext of ['.nrrd', '.mha'] as const) {
      const path = join(workDir, `seed${ext}`)
      await writeImageNode(toItkImage(v, v.data), path)
      const bytes = new Uint8Array(readFileSync(path))
      rmSync(path)
      const text = Buffer.from(bytes).toString('latin1')
      const end = ext === '.nrrd' ? text.indexOf('\n\n') + 2 : text.indexOf('ElementDataFile = LOCAL') + 24
      seeds.push({ name: `${src.split('/')[1].replace('.nii.gz', '')}${ext}`, kind: 'text', ext, bytes, header: end, littleEndian: true })
    }
  }
  return seeds
}

/** [offset, type] of the NIfTI-1 / NIfTI-2 fields that carry numbers (nifti1.h, nifti2.h). */
type Field = [number, 'i16' | 'i32' | 'i64' | 'f32' | 'f64']
const range = (start: number, n: number, step: number, type: Field[1]): Field[] => Array.from({ length: n }, (_, k) => [start + k * step, type])
const NIFTI1_FIELDS: Field[] = [
  [0, 'i32'], ...range(40, 8, 2, 'i16'), [70, 'i16'], [72, 'i16'], ...range(76, 8, 4, 'f32'), [108, 'f32'], [112, 'f32'],
  [116, 'f32'], [252, 'i16'], [254, 'i16'], ...range(256, 6, 4, 'f32'), ...range(280, 12, 4, 'f32')
]
const NIFTI2_FIELDS: Field[] = [
  [0, 'i32'], [12, 'i16'], [14, 'i16'], ...range(16, 8, 8, 'i64'), ...range(104, 8, 8, 'f64'), [168, 'i64'], [176, 'f64'],
  [184, 'f64'], [344, 'i32'], [348, 'i32'], ...range(352, 6, 8, 'f64'), ...range(400, 12, 8, 'f64')
]
/** The sform rows (the field of the hang), mutated more often. */
const SFORM1: Field[] = range(280, 12, 4, 'f32')
const SFORM2: Field[] = range(400, 12, 8, 'f64')

const FLOATS = [0, -0, 1, -1, 0.5, 2.5, NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-38, 3.4e10, -3.4e10, 1e-7, 1e7, 65536, 1e300]
const INTS = [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 64, 127, 255, 256, 512, 1024, 1280, 2048, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31)]

function setField(v: DataView, [offset, type]: Field, r: () => number, le: boolean): string {
  if (type === 'f32' || type === 'f64') {
    const x = r() < 0.8 ? pick(r, FLOATS) : (r() - 0.5) * 10 ** (int(r, 40) - 20)
    type === 'f32' ? v.setFloat32(offset, x, le) : v.setFloat64(offset, x, le)
    return `${type}@${offset}=${x}`
  }
  const n = r() < 0.8 ? pick(r, INTS) : int(r, 65536) - 32768
  if (type === 'i16') v.setInt16(offset, n, le)
  else if (type === 'i32') v.setInt32(offset, n, le)
  else v.setBigInt64(offset, BigInt(n), le)
  return `${type}@${offset}=${n}`
}

const TOKENS = ['nan', 'inf', '-inf', '1e308', '-1e308', '-1', '0', '1', '99999999999', '1e-300', '3.4e10', '', 'abc', '2147483648', '65536', '-0']

/**
 * One gzip file in four with a compressed byte XORed between header and trailer (the trailer kept):
 * a stream only full inflation with its CRC can tell from the real one. Its own `r` (one per case),
 * so the header mutations of a given seed stay what they were.
 */
export function corruptGzipStream(gz: Uint8Array, r: () => number): Uint8Array {
  if (r() >= 0.25 || gz.length < 20) return gz
  const out = new Uint8Array(gz)
  out[10 + int(r, out.length - 18)] ^= 1 + int(r, 255)
  return out
}

/** A mutated copy of a seed and a note of what was done. */
export function mutate(seed: FuzzSeed, r: () => number): { bytes: Uint8Array; how: string } {
  const bytes = new Uint8Array(seed.bytes)
  const how: string[] = []
  const strategy = r()
  if (strategy < 0.08) {
    const cut = r() < 0.5 ? int(r, seed.header) : seed.header + int(r, bytes.length - seed.header)
    return { bytes: bytes.subarray(0, cut), how: `truncated at ${cut}` }
  }
  if (strategy < 0.2) {
    const flips = 1 + int(r, 8)
    for (let k = 0; k < flips; k++) {
      const at = int(r, seed.header)
      bytes[at] ^= 1 << int(r, 8)
      how.push(`bit@${at}`)
    }
    return { bytes, how: how.join(' ') }
  }
  if (seed.kind === 'text') return mutateText(seed, bytes, r)
  const v = new DataView(bytes.buffer)
  const fields = seed.kind === 'nifti1' ? NIFTI1_FIELDS : NIFTI2_FIELDS
  if (strategy < 0.35) {
    v[seed.kind === 'nifti1' ? 'setInt16' : 'setInt32'](seed.kind === 'nifti1' ? 254 : 348, 1, seed.littleEndian)
    const rows = seed.kind === 'nifti1' ? SFORM1 : SFORM2
    for (let k = 1 + int(r, 3); k > 0; k--) how.push(setField(v, pick(r, rows), r, seed.littleEndian))
    return { bytes, how: `sform_code=1 ${how.join(' ')}` }
  }
  for (let k = 1 + int(r, 3); k > 0; k--) how.push(setField(v, pick(r, fields), r, seed.littleEndian))
  return { bytes, how: how.join(' ') }
}

function mutateText(seed: FuzzSeed, bytes: Uint8Array, r: () => number): { bytes: Uint8Array; how: string } {
  const text = Buffer.from(bytes.subarray(0, seed.header)).toString('latin1')
  const lines = text.split('\n')
  const body = lines.length - (seed.ext === '.nrrd' ? 2 : 1) // keep the blank line / data line in place
  const at = 1 + int(r, Math.max(1, body - 1))
  let how: string
  const s = r()
  if (s < 0.6) {
    const tokens = lines[at].match(/-?[\d.]+(e[-+]?\d+)?/gi) ?? []
    if (tokens.length === 0) return { bytes, how: 'no number on the line' }
    const old = pick(r, tokens)
    const token = pick(r, TOKENS)
    lines[at] = lines[at].replace(old, token)
    how = `line ${at}: ${old}->${token}`
  } else if (s < 0.8) {
    lines.splice(at, 1)
    how = `line ${at} deleted`
  } else {
    lines.splice(at, 0, lines[at])
    how = `line ${at} doubled`
  }
  const head = Buffer.from(lines.join('\n'), 'latin1')
  const out = new Uint8Array(head.length + bytes.length - seed.header)
  out.set(head, 0)
  out.set(bytes.subarray(seed.header), head.length)
  return { bytes: out, how }
}

export type Verdict = 'read' | 'refused' | 'timeout' | 'unexpected' | 'raw' | 'bad-message' | 'bad-volume'

const CODES: SegErrorCode[] = ['FILE_NOT_FOUND', 'NOT_AN_IMAGE', 'CORRUPT_FILE', 'BAD_DIMENSION', 'NON_FINITE_VOXELS', 'TOO_LARGE', 'UNSUPPORTED', 'BAD_ARGUMENT']
/** Text that must never reach a user: JS error names, "undefined"/"null", stack frames, a bare number. */
const INTERNAL = /RangeError|TypeError|ReferenceError|SyntaxError|\bundefined\b|\bnull\b|\bNaN\b|\n|\bat \S+ \(|^\s*-?[\d.]+\s*$/

/** Judges what readVolume did with a case file named `file`. */
export function judge(file: string, result: Volume | unknown): { verdict: Verdict; detail: string } {
  if (!(result instanceof Error)) {
    const v = result as Volume
    const count = v.size[0] * v.size[1] * v.size[2]
    const problem = geometryProblem(v) ?? (count !== v.data.length ? 'voxel count' : null) ??
      (Array.prototype.some.call(v.data, (x: number) => !Number.isFinite(x)) ? 'non-finite voxels' : null)
    return problem === null ? { verdict: 'read', detail: '' } : { verdict: 'bad-volume', detail: problem }
  }
  if (!(result instanceof SegError)) return { verdict: 'raw', detail: String(result).slice(0, 200) }
  const m = result.message
  if (m.includes('could not be read within')) return { verdict: 'timeout', detail: m }
  if (m.includes('failed unexpectedly')) return { verdict: 'unexpected', detail: m }
  if (!CODES.includes(result.code) || INTERNAL.test(m) || !m.includes(file) || m.length > 400) return { verdict: 'bad-message', detail: `${result.code}: ${m}` }
  return { verdict: 'refused', detail: result.code }
}

export interface FuzzReport {
  cases: number
  verdicts: Record<Verdict, number>
  codes: Record<string, number>
  /** Up to 20 cases that were not 'read' or 'refused', with what was done to them. */
  failures: string[]
  ms: number
}

/**
 * Runs `count` cases from `seed` in `workDir`, each read under `deadlineMs` (ms).
 * @param onCase called after each case (progress).
 */
export async function runFuzz(o: { seeds: FuzzSeed[]; count: number; seed: number; workDir: string; deadlineMs: number; onCase?: (k: number) => void }): Promise<FuzzReport> {
  const r = rng(o.seed)
  const verdicts: Record<Verdict, number> = { read: 0, refused: 0, timeout: 0, unexpected: 0, raw: 0, 'bad-message': 0, 'bad-volume': 0 }
  const codes: Record<string, number> = {}
  const failures: string[] = []
  const started = Date.now()
  for (let k = 0; k < o.count; k++) {
    // Text formats decode through itk-wasm (~0.3 s a case): 1 case in 5.
    const textual = r() < 0.2
    const candidates = o.seeds.filter((s) => (s.kind === 'text') === textual)
    const seed = pick(r, candidates)
    const { bytes, how } = mutate(seed, r)
    const gz = seed.kind !== 'text' && r() < 0.3
    const file = `fuzz-${String(k).padStart(5, '0')}${seed.ext}${gz ? '.gz' : ''}`
    const path = join(o.workDir, file)
    writeFileSync(path, gz ? corruptGzipStream(gzipSync(bytes, { level: 1 }), rng(o.seed ^ (k + 1))) : bytes)
    const result = await readVolume(path, { deadlineMs: o.deadlineMs }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
    rmSync(path, { force: true })
    const { verdict, detail } = judge(file, result)
    verdicts[verdict]++
    if (verdict === 'refused') codes[detail] = (codes[detail] ?? 0) + 1
    else if (verdict !== 'read' && failures.length < 20) failures.push(`${file} (${seed.name}: ${how}): ${verdict} ${detail}`)
    o.onCase?.(k)
  }
  return { cases: o.count, verdicts, codes, failures, ms: Date.now() - started }
}
