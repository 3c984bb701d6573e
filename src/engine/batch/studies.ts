/**
 * What a batch runs over: a folder of volume files (one study per file, single-channel bundles) or
 * a CSV naming one file per model channel for each study. DICOM series are not inputs yet (the
 * engine has no DICOM reader). Each study gets an id that names its output files.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { SegError } from '../errors'
import { formatOfPath, SUPPORTED_EXTENSIONS } from '../volume/read'

export interface Study {
  /** Names the study's output files: letters, digits, '.', '_', '-' only. */
  id: string
  /** Absolute paths, one per model channel, in the bundle's channel order. */
  inputs: string[]
}

/** Most studies one batch lists (a bound on memory and on the report's size). */
export const MAX_STUDIES = 100_000
/** Longest study id, in characters (ids become file names). */
export const MAX_ID_LENGTH = 120

const ID_PATTERN = /^[A-Za-z0-9._-]+$/

/** The file name without its volume extension (.nii.gz counts as one). */
function stem(file: string): string {
  const lower = file.toLowerCase()
  const ext = SUPPORTED_EXTENSIONS.find((e) => lower.endsWith(e)) ?? ''
  return file.slice(0, file.length - ext.length)
}

/** An id made safe for a file name: other characters become '_'. */
export function idOf(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')
}

function checkId(id: string, where: string): void {
  if (!ID_PATTERN.test(id) || id.length > MAX_ID_LENGTH || id.startsWith('.')) {
    throw new SegError('BAD_ARGUMENT', `${where}: study id '${id}' is not usable as a file name; expected 1-${MAX_ID_LENGTH} letters, digits, '.', '_' or '-', not starting with '.'`)
  }
}

function checkUnique(studies: Study[], where: string): void {
  const seen = new Map<string, Study>()
  for (const s of studies) {
    const other = seen.get(s.id)
    if (other) throw new SegError('BAD_ARGUMENT', `${where}: two studies have the id '${s.id}' (${other.inputs[0]} and ${s.inputs[0]}); expected unique ids (they name the output files)`)
    seen.set(s.id, s)
  }
  if (studies.length === 0) throw new SegError('BAD_ARGUMENT', `${where} lists no study; expected at least one volume file (${SUPPORTED_EXTENSIONS.join(', ')})`)
  if (studies.length > MAX_STUDIES) throw new SegError('TOO_LARGE', `${where} lists ${studies.length} studies; expected at most ${MAX_STUDIES} per batch (split the cohort)`)
}

/**
 * One study per volume file directly in `folder` (not its subfolders; hidden files skipped), sorted
 * by name. Only for single-channel bundles: several channels need a CSV.
 */
export async function studiesInFolder(folder: string, channels: number): Promise<Study[]> {
  const dir = resolve(folder)
  if (channels !== 1) {
    throw new SegError('BAD_ARGUMENT', `the bundle takes ${channels} channels; expected --inputs to be a CSV naming one file per channel for each study, not a folder`)
  }
  const entries = await readdir(dir, { withFileTypes: true })
  // an .hdr/.img pair is one study, listed by its .hdr
  const skipped = ['.nhdr', '.mhd', '.img']
  const files = entries.filter((e) => e.isFile() && !e.name.startsWith('.') && formatOfPath(e.name) !== null && !skipped.some((x) => e.name.toLowerCase().endsWith(x)))
  const studies = files.map((e) => ({ id: idOf(stem(e.name)), inputs: [join(dir, e.name)] })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const s of studies) checkId(s.id, s.inputs[0])
  checkUnique(studies, dir)
  return studies
}

/** Splits one CSV line (RFC 4180 quotes; no line breaks inside fields). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') field += ch, i++
      else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') out.push(field), (field = '')
    else field += ch
  }
  out.push(field)
  return out.map((f) => f.trim())
}

/**
 * Studies from a CSV: a header `id,<channel 1>,<channel 2>,...` (the channel columns in the bundle's
 * channel order; their names are free), then one row per study. Relative paths are relative to the
 * CSV's folder. The first column may be left empty: the id is then made from the first file's name.
 */
export async function studiesFromCsv(csvPath: string, channels: number): Promise<Study[]> {
  const path = resolve(csvPath)
  const base = dirname(path)
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '')
  const header = lines.length ? splitCsvLine(lines[0]) : []
  if (header[0]?.toLowerCase() !== 'id' || header.length !== channels + 1) {
    throw new SegError('BAD_ARGUMENT', `${path}: header is '${lines[0] ?? ''}'; expected 'id' and then ${channels} column${channels > 1 ? 's' : ''}, one per model channel`)
  }
  const studies = lines.slice(1).map((line, r) => {
    const cells = splitCsvLine(line)
    const where = `${basename(path)} row ${r + 2}`
    if (cells.length !== channels + 1 || cells.slice(1).some((c) => c === '')) {
      throw new SegError('BAD_ARGUMENT', `${where} has ${cells.length - 1} file${cells.length === 2 ? '' : 's'}; expected ${channels} (one per model channel) after the id`)
    }
    const inputs = cells.slice(1).map((c) => resolve(base, c))
    const id = cells[0] === '' ? idOf(stem(basename(inputs[0]))) : cells[0]
    checkId(id, where)
    return { id, inputs }
  })
  checkUnique(studies, path)
  return studies
}

/** Studies from --inputs: a CSV file (by extension) or a folder. */
export async function listStudies(inputs: string, channels: number): Promise<Study[]> {
  const info = await stat(inputs).catch(() => null)
  if (info === null) throw new SegError('FILE_NOT_FOUND', `${resolve(inputs)} does not exist; expected a folder of volumes or a .csv list`)
  if (info.isDirectory()) return studiesInFolder(inputs, channels)
  if (inputs.toLowerCase().endsWith('.csv')) return studiesFromCsv(inputs, channels)
  throw new SegError('BAD_ARGUMENT', `${resolve(inputs)} is neither a folder nor a .csv; expected a folder of volumes or a .csv list (DICOM series are not supported yet)`)
}
