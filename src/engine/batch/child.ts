/**
 * A batch worker process (forked by StudyPool): loads the bundle once, then runs the studies it is
 * sent, one at a time, with its own onnxruntime sessions and thread count. Messages in:
 * ChildInit, then { type: 'study' }, or 'cancel'; out: { type: 'progress' | 'record' | 'cancelled' }.
 * When its parent dies (the IPC channel closes) it cancels the study in flight, which removes that
 * study's temp files, and exits: an orphan never keeps writing outputs.
 */
import { loadBundle, type Bundle } from '../bundle/bundle'
import { isSegError } from '../errors'
import { runStudy, type KeyedStudy, type StudyRunOptions } from './study'

export interface ChildInit {
  type: 'init'
  bundleDir: string
  outDir: string
  options: Omit<StudyRunOptions, 'signal' | 'onProgress' | 'force'>
}

/** A study to run, and whether to force it (StudyRunOptions.force: chosen per study, not per process). */
export type ChildRequest = ChildInit | { type: 'study'; study: KeyedStudy; force: boolean } | 'cancel'

if (!process.send) throw new Error('batch child must be started with an IPC channel (child_process.fork)')
const send = (m: unknown) => process.connected && process.send!(m)
let controller = new AbortController()
let init: { bundle: Bundle; msg: ChildInit } | undefined
let busy = false

// Ctrl-C in a terminal signals the whole process group: the parent decides (cancel or finish).
process.on('SIGINT', () => undefined)
process.on('disconnect', () => {
  controller.abort()
  if (!busy) process.exit(0)
})

process.on('message', async (msg: ChildRequest) => {
  if (msg === 'cancel') return controller.abort()
  if (msg.type === 'init') {
    init = { bundle: await loadBundle(msg.bundleDir), msg }
    return send({ type: 'ready' })
  }
  if (!init) throw new Error('study before init')
  busy = true
  const { study, force } = msg
  try {
    const record = await runStudy(init.bundle, study, init.msg.outDir, {
      ...init.msg.options,
      force,
      signal: controller.signal,
      onProgress: (fraction) => send({ type: 'progress', key: study.key, fraction })
    })
    send({ type: 'record', record })
  } catch (e) {
    send({ type: 'cancelled', key: study.key, message: isSegError(e) ? e.message : String(e) })
    controller = new AbortController()
  } finally {
    busy = false
    if (!process.connected) process.exit(0)
  }
})
