import type { SegTransferApi } from '../shared/contract'

declare global {
  interface Window {
    segtransfer: SegTransferApi
  }
}
