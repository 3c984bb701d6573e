import { parseArgs } from 'node:util'
import { promises as fs } from 'node:fs'
import { SegError, isSegError } from '../../engine/errors'
import { loadBundle } from '../../engine/bundle/bundle'
import { readVolume } from '../../engine/volume/read'
import { joinVolumeValue, parseVolumeFlag } from '../volume-flag'
import { orientationOf } from '../../engine/volume/orientation'
import type { CommandIO } from '../io'
import { isDicomListing, listDicom } from '../dicom-input'

export const usage = `segtransfer info <volume|bundle|DICOM folder> [--json] [--show-phi] [--volume N]
    Describe a volume (grid, orientation, intensities, what the reader decided) or a model bundle,
    or list the DICOM series in a folder, file or DICOMDIR (patient name/ID only with --show-phi).
    A 4D file lists its volumes and describes volume 0, or the one --volume N names.`

const fmt = (xs: ArrayLike<number>, d = 4) => Array.from(xs, (x) => Number(x.toFixed(d))).join(' × ')

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: joinVolumeValue(argv), options: { json: { type: 'boolean', default: false }, 'show-phi': { type: 'boolean', default: false }, volume: { type: 'string' } }, allowPositionals: true, strict: true })
  if (positionals.length !== 1) throw new SegError('BAD_ARGUMENT', 'info takes exactly one path: a volume file or a bundle folder')
  const target = positionals[0]
  if (await isDicomListing(target)) return listDicom(target, values.json!, values['show-phi']!, io)
  const stat = await fs.stat(target).catch(() => undefined)
  if (stat?.isDirectory()) {
    const b = await loadBundle(target)
    const m = b.manifest
    if (values.json) {
      io.out(JSON.stringify(m, null, 2))
      return 0
    }
    io.out(`bundle     ${m.name}${m.description ? ` — ${m.description}` : ''}`)
    io.out(`model      ${b.modelPath} (input '${m.model.input}', output '${m.model.output}', axis order ${m.model.axisOrder})`)
    m.channels.forEach((c, i) => io.out(`channel ${i}  ${c.name} (${c.modality}), normalisation ${JSON.stringify(c.normalization)}`))
    io.out(`geometry   ${JSON.stringify(m.geometry)}`)
    io.out(`inference  ${JSON.stringify(m.inference)}`)
    io.out(`output     ${m.output.kind}; labels: ${m.output.labels.map((l) => `${l.value} ${l.name}`).join(', ')}`)
    if (m.classification) io.out(`classes    ${m.classification.classes.join(', ')} (output '${m.classification.output}')`)
    for (const p of m.provenance) io.out(`provenance ${p.date} ${p.operation}${p.source ? ` from ${p.source}` : ''}`)
    return 0
  }
  const chosen = parseVolumeFlag(values.volume)
  // A 4D file without --volume: its first volume is described, with the count (the reader refuses
  // a 4D file without a choice; a 2D file is refused again by the second read)
  const v = await readVolume(target, { volume: chosen }).catch((e: unknown) =>
    chosen === undefined && isSegError(e) && e.code === 'BAD_DIMENSION' ? readVolume(target, { volume: 0 }) : Promise.reject(e)
  )
  const volumes = v.source?.volume?.count ?? 1
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i]
    if (x < min) min = x
    if (x > max) max = x
  }
  const info = {
    path: target,
    format: v.source?.format,
    storedType: v.source?.storedType,
    type: v.data.constructor.name.replace('Array', '').toLowerCase(),
    size: v.size,
    spacing: v.spacing,
    origin: v.origin,
    direction: v.direction,
    orientation: orientationOf(v),
    range: [min, max],
    volumes,
    volume: v.source?.volume?.index,
    notes: v.source?.notes ?? []
  }
  if (values.json) {
    io.out(JSON.stringify(info, null, 2))
    return 0
  }
  io.out(`volume       ${target} (${info.format}, stored ${info.storedType}, loaded as ${info.type})`)
  if (volumes > 1) io.out(`volumes      ${volumes} (4D): volume ${v.source?.volume?.index ?? 0} shown; choose one with --volume 0..${volumes - 1}`)
  io.out(`size         ${v.size.join(' × ')} voxels`)
  io.out(`spacing      ${fmt(v.spacing)} mm`)
  io.out(`origin       ${fmt(v.origin, 3)} mm (LPS)`)
  io.out(`direction    ${fmt(v.direction)} (row-major, LPS)`)
  io.out(`orientation  ${info.orientation} (RAS-style axis codes)`)
  io.out(`intensities  ${min} .. ${max}`)
  for (const n of info.notes) io.out(`note         ${n}`)
  return 0
}
