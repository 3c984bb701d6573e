/**
 * One study of a batch, start to end: segment() → mask, statistics and thumbnail, each written
 * atomically, then its journal record. A study's own failure (a corrupt file, a grid mismatch) is a
 * failed record with its one-line error, never an exception: one bad study never stops a batch.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { isSegError, SegError } from '../errors'
import type { Bundle } from '../bundle/bundle'
import { segment, type Device } from '../pipeline/segment'
import { writeLabelMap, labelStatistics, writeStatistics, writeFileAtomic } from '../export'
import { thumbnail } from './thumbnail'
import { encodePng } from './png'
import type { StudyRecord } from './journal'
import type { Study } from './studies'

/** A study with its key (studyKey()), or the reason its inputs could not even be hashed. */
export interface KeyedStudy extends Study {
  key: string
  /** Set when the inputs could not be read for hashing: the study is failed without a run. */
  unreadable?: string
}

export interface StudyRunOptions {
  device: Device
  /** onnxruntime intra-op threads for this study. */
  threads?: number
  refinement: boolean
  /**
   * true: segment a study even when it grossly mismatches the bundle's `accepts` (its fit findings
   * become the record's warnings). Not part of the study key: it changes whether a mask is made,
   * never which one, so a study refused as unfit is re-run with --force --retry-failed.
   */
  force?: boolean
  /** The batch or queue worker process this study runs for (journal and job results name it). */
  worker: string
  signal?: AbortSignal
  /** Fraction 0..1 of this study. */
  onProgress?: (fraction: number) => void
}

export const STUDIES_DIR = 'studies'

/** How a batch study refused as unfit (MODEL_UNFIT) says to run it: the same flags for batch and queue add. */
export const BATCH_UNFIT_HINT = 're-run with --force --retry-failed to segment it anyway'

/** Where a study's outputs go, relative to the output folder (one file of each kind per study id). */
export function studyOutputs(id: string): NonNullable<StudyRecord['outputs']> {
  return { mask: `${STUDIES_DIR}/${id}.nii.gz`, stats: `${STUDIES_DIR}/${id}_stats.csv`, thumbnail: `${STUDIES_DIR}/${id}_thumb.png` }
}

/** The one line a failed study is reported with. */
export function failureMessage(e: unknown): string {
  if (isSegError(e)) return e.message
  return `internal error: ${String((e as Error)?.message ?? e).split('\n')[0]}`
}

/**
 * Runs one study and writes its outputs under `outDir`. Returns its record (done or failed); throws
 * only CANCELLED (the batch is stopping: the study is neither done nor failed).
 */
export async function runStudy(bundle: Bundle, study: KeyedStudy, outDir: string, opts: StudyRunOptions): Promise<StudyRecord> {
  const start = performance.now()
  const base = { key: study.key, id: study.id, inputs: study.inputs, worker: opts.worker }
  const seconds = () => +((performance.now() - start) / 1000).toFixed(3)
  try {
    if (study.unreadable) throw new SegError('FILE_NOT_FOUND', study.unreadable)
    const result = await segment({
      bundle,
      inputs: study.inputs,
      device: opts.device,
      threads: opts.threads,
      refinement: opts.refinement,
      force: opts.force,
      unfitHint: BATCH_UNFIT_HINT,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.(p.fraction * 0.95)
    })
    const outputs = studyOutputs(study.id)
    mkdirSync(join(outDir, STUDIES_DIR), { recursive: true })
    const labels = bundle.manifest.output.labels
    const stats = labelStatistics(result.labels, Object.fromEntries(labels.map((l) => [l.value, l.name])))
    const colors = new Map(labels.map((l) => [l.value, l.color as [number, number, number]]))
    if (opts.signal?.aborted) throw new SegError('CANCELLED', 'segmentation cancelled by the user')
    // The batch owns <out-dir>/studies/: a study redone (its inputs or the bundle changed) or retried
    // after a killed worker replaces its own earlier outputs. Inputs are never replaced, even so.
    const owned = { overwrite: true }
    await writeLabelMap(result.labels, join(outDir, outputs.mask), { like: result.reference, inputs: study.inputs, ...owned })
    await writeStatistics(stats, join(outDir, outputs.stats), { inputs: study.inputs, ...owned })
    await writeFileAtomic(join(outDir, outputs.thumbnail), encodePng(thumbnail(result.reference, result.labels, colors)), '.png', owned)
    opts.onProgress?.(1)
    const c = result.classification
    const best = c ? c.probabilities.indexOf(Math.max(...c.probabilities)) : -1
    return {
      ...base,
      status: 'done',
      outputs,
      labels: stats.map((s) => ({ value: s.value, name: s.name, volumeMl: +s.volumeMl.toFixed(6) })),
      classification: c ? `${c.classes[best]} ${c.probabilities[best].toFixed(3)}` : undefined,
      warnings: result.warnings.length ? result.warnings : undefined,
      provider: result.provider,
      seconds: seconds(),
      finishedAt: new Date().toISOString()
    }
  } catch (e) {
    if (isSegError(e) && e.code === 'CANCELLED') throw e
    return { ...base, status: 'failed', error: failureMessage(e), seconds: seconds(), finishedAt: new Date().toISOString() }
  }
}
