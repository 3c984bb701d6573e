/**
 * The batch journal: what each study's run ended with, in the output folder, so that a killed or
 * repeated run knows what is done. Append-only JSON lines, fsynced per record, one file per writing
 * process (`journal/<host>-<pid>.jsonl`): workers on several machines never write the same file, so
 * no locking is needed on shared storage. A record is appended only after the study's outputs are
 * renamed into place; a process killed mid-append leaves at most a torn last line, which readers skip.
 */
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, readdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { SegError } from '../errors'

export const JOURNAL_DIR = 'journal'

/** One label's volume in a study's result. */
export interface LabelVolume {
  value: number
  name: string
  volumeMl: number
}

/** How one study's run ended. Paths in `outputs` are relative to the output folder. */
export interface StudyRecord {
  /** studyKey(): id + input contents + bundle + options. */
  key: string
  id: string
  inputs: string[]
  status: 'done' | 'failed'
  /** The one-line error of a failed study. */
  error?: string
  outputs?: { mask: string; stats: string; thumbnail: string }
  labels?: LabelVolume[]
  /** The most probable class and its probability, when the bundle classifies ("T1 0.982"). */
  classification?: string
  /** segment()'s warning lines (the model-fit findings of a forced study among them), when any. */
  warnings?: string[]
  provider?: string
  seconds: number
  /** host-pid of the process that ran it. */
  worker: string
  /** ISO time the record was written. */
  finishedAt: string
}

/** This process's name in journals and job results. */
export function writerName(): string {
  return `${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${process.pid}`
}

/** Appends records to this process's journal file; each append is on disk when it returns. */
export class JournalWriter {
  private fd: number | undefined
  constructor(private readonly outDir: string, private readonly name = writerName()) {}

  append(record: StudyRecord): void {
    if (this.fd === undefined) {
      const dir = join(this.outDir, JOURNAL_DIR)
      mkdirSync(dir, { recursive: true })
      this.fd = openSync(join(dir, `${this.name}.jsonl`), 'a')
      fsyncDir(dir) // the new file's name is durable too
    }
    writeSync(this.fd, JSON.stringify(record) + '\n') // one write call per line: O_APPEND keeps it whole
    fsyncSync(this.fd)
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try { fsyncSync(fd) } finally { closeSync(fd) }
  } catch {
    // Windows cannot open a folder for fsync; the file's own fsync still holds its records.
  }
}

/** Records of one journal file's text; a torn last line (no newline) is skipped, any other bad line is CORRUPT_FILE. */
export function parseJournal(text: string, where: string): StudyRecord[] {
  const lines = text.split('\n')
  lines.pop() // '' when the file ends with a newline, else a torn partial line: either way not a record
  return lines.map((line, i) => {
    try {
      const r = JSON.parse(line) as StudyRecord
      if (typeof r.key !== 'string' || typeof r.id !== 'string' || (r.status !== 'done' && r.status !== 'failed')) throw new Error('not a study record')
      return r
    } catch {
      throw new SegError('CORRUPT_FILE', `${where} line ${i + 1} is not a journal record; expected one JSON study record per line (move the file away to start that part afresh)`)
    }
  })
}

/** Every record in the output folder's journal files, oldest first. */
export function readJournal(outDir: string): StudyRecord[] {
  const dir = join(outDir, JOURNAL_DIR)
  let files: string[]
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()
  } catch {
    return []
  }
  const records = files.flatMap((f) => parseJournal(readFileSync(join(dir, f), 'utf8'), join(dir, f)))
  return records.sort((a, b) => (a.finishedAt < b.finishedAt ? -1 : a.finishedAt > b.finishedAt ? 1 : 0))
}

/** The latest record of each key. */
export function latestByKey(records: readonly StudyRecord[]): Map<string, StudyRecord> {
  const m = new Map<string, StudyRecord>()
  for (const r of records) m.set(r.key, r)
  return m
}
