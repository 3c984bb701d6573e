/**
 * The one SegTransferApi the UI talks to: Electron's preload when present, else the local HTTP bridge
 * of the browser build. Nothing else in the renderer knows which host it runs in.
 */
import type { ApiErrorCode, SegTransferApi, VoxelBuffer } from '../../shared/contract'
import { createHttpApi } from './host/http-client'
import { createBridgeFiles, type BridgeFiles } from './host/files-client'

export const api: SegTransferApi = window.segtransfer ?? createHttpApi()
/** The browser build's file browser and uploads; undefined in Electron (native dialogs, dropped files have paths). */
export const bridgeFiles: BridgeFiles | undefined = window.segtransfer ? undefined : createBridgeFiles()

/** Typed-array view of a voxel buffer (no copy). */
export function typedVoxels(b: VoxelBuffer): ArrayLike<number> {
  switch (b.dtype) {
    case 'uint8': return new Uint8Array(b.data)
    case 'int8': return new Int8Array(b.data)
    case 'uint16': return new Uint16Array(b.data)
    case 'int16': return new Int16Array(b.data)
    case 'uint32': return new Uint32Array(b.data)
    case 'int32': return new Int32Array(b.data)
    case 'float32': return new Float32Array(b.data)
    case 'float64': return new Float64Array(b.data)
  }
}

/**
 * The message of anything thrown by an API call (the engine's one line: both hosts answer with an
 * envelope, so Electron never wraps it). For display only: the UI acts on codeOf, never on this text.
 */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** The envelope's ApiError code of anything thrown by an API call (both clients copy it onto the Error); '' when it carries none. */
export function codeOf(e: unknown): ApiErrorCode | '' {
  const code = (e as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? (code as ApiErrorCode) : ''
}
