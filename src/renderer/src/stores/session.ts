import { defineStore } from 'pinia'
import type { BundleInfo, SegmentSummary, VolumeInfo } from '../../../shared/contract'

/** What the clinician has open: volumes, the model bundle, the last run and its progress. */
export const useSessionStore = defineStore('session', {
  state: () => ({
    volumes: [] as VolumeInfo[],
    bundle: undefined as BundleInfo | undefined,
    run: undefined as SegmentSummary | undefined,
    progress: 0,
    progressMessage: '',
    running: false,
    error: ''
  })
})
