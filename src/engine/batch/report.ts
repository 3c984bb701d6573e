/**
 * The batch report: report.csv (one row per study) and report.html (the same table with thumbnails,
 * sortable by any column, failed studies first; one self-contained file that opens offline, its
 * thumbnails linked relatively from the studies folder).
 */
import { join } from 'node:path'
import { writeFileAtomic } from '../fs/atomic'
import { csvField } from '../export/statistics' // study ids and errors are escaped against formula injection too
import type { StudyRecord } from './journal'
import type { Study } from './studies'

/** A report row: a study's record, or a study with no record yet. */
export type ReportRow = StudyRecord | (Study & { status: 'pending' | 'running'; key: string })

/** Failed first, then pending/running, then done; by id within each. */
const STATUS_ORDER: Record<ReportRow['status'], number> = { failed: 0, running: 1, pending: 2, done: 3 }

export function sortRows(rows: readonly ReportRow[]): ReportRow[] {
  return [...rows].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The label columns: every label value any row reports, by value, with its first name seen. */
export function labelColumns(rows: readonly ReportRow[]): { value: number; name: string }[] {
  const m = new Map<number, string>()
  for (const r of rows) for (const l of ('labels' in r && r.labels) || []) if (!m.has(l.value)) m.set(l.value, l.name)
  return [...m].sort((a, b) => a[0] - b[0]).map(([value, name]) => ({ value, name }))
}

interface Cells {
  header: string[]
  rows: (string | number | undefined)[][]
}

/** Joins a study's warning lines into one cell. */
const WARNING_SEPARATOR = ' | '

/** The table both reports show: id, status, error, one mL column per label, classification, provider, seconds, inputs, warnings (added last, so that columns read by position before it stay where they were). */
function cells(rows: readonly ReportRow[]): Cells {
  const labels = labelColumns(rows)
  const header = ['id', 'status', 'error', ...labels.map((l) => `${l.name} (mL)`), 'classification', 'provider', 'seconds', 'inputs', 'warnings']
  return {
    header,
    rows: sortRows(rows).map((r) => {
      const rec = 'worker' in r ? r : undefined
      const vol = new Map((rec?.labels ?? []).map((l) => [l.value, l.volumeMl]))
      return [r.id, r.status, rec?.error, ...labels.map((l) => vol.get(l.value)), rec?.classification, rec?.provider, rec?.seconds, r.inputs.join(';'), rec?.warnings?.join(WARNING_SEPARATOR)]
    })
  }
}

/** report.csv text: the header, then one row per study (failed first). Volumes as in the statistics files. */
export function reportCsv(rows: readonly ReportRow[]): string {
  const t = cells(rows)
  return [t.header, ...t.rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n'
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** Sorting by a header click (numbers numerically, blanks last); a few lines, no library. */
const SORT_SCRIPT = `document.querySelectorAll('th').forEach((th, c) => th.addEventListener('click', () => {
  const tb = document.querySelector('tbody'), up = th.dataset.dir !== 'asc'; th.dataset.dir = up ? 'asc' : 'desc'
  const key = (tr) => tr.children[c].dataset.sort ?? tr.children[c].textContent
  const rows = [...tb.rows].sort((a, b) => { const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y)
    const r = x === '' ? 1 : y === '' ? -1 : !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y); return up ? r : -r })
  tb.append(...rows) }))`

/** report.html text: a sortable table with each study's thumbnail (failed first). */
export function reportHtml(rows: readonly ReportRow[], title: string): string {
  const t = cells(rows)
  const sorted = sortRows(rows)
  const head = ['thumbnail', ...t.header].map((h) => `<th>${escapeHtml(h)}</th>`).join('')
  const body = t.rows.map((r, i) => {
    const rec = sorted[i]
    const thumb = rec.status === 'done' && rec.outputs ? `<img src="${escapeHtml(rec.outputs.thumbnail)}" alt="${escapeHtml(rec.id)}">` : ''
    const tds = r.map((x) => `<td>${escapeHtml(x === undefined ? '' : String(x))}</td>`).join('')
    return `<tr class="${rec.status}" data-id="${escapeHtml(rec.id)}"><td data-sort="${rec.status === 'done' ? 1 : 0}">${thumb}</td>${tds}</tr>`
  })
  const counts = (['done', 'failed', 'pending', 'running'] as const).map((s) => `${rows.filter((r) => r.status === s).length} ${s}`).join(', ')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:middle;max-width:24em;overflow-wrap:break-word}th{background:#eee;cursor:pointer;position:sticky;top:0}
tr.failed td{background:#fde8e8}tr.pending td,tr.running td{color:#777}img{display:block;max-height:96px}
</style></head><body>
<h1>${escapeHtml(title)}</h1><p>${rows.length} studies: ${counts}. Click a column to sort.</p>
<table><thead><tr>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table>
<script>${SORT_SCRIPT}</script>
</body></html>
`
}

/** Writes report.csv and report.html into `outDir` (atomically); returns their paths. */
export async function writeReports(outDir: string, rows: readonly ReportRow[], title: string): Promise<{ csv: string; html: string }> {
  const csv = join(outDir, 'report.csv')
  const html = join(outDir, 'report.html')
  // The reports are rebuilt from the journal on every run: each run replaces the last one's.
  await writeFileAtomic(csv, reportCsv(rows), '', { overwrite: true })
  await writeFileAtomic(html, reportHtml(rows, title), '.html', { overwrite: true })
  return { csv, html }
}
