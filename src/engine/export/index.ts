/** Export of results: label maps (NIfTI with the input's own header, or NRRD) and statistics. */
export { writeLabelMap, labelMapExtension, LABEL_MAP_EXTENSIONS } from './label-map'
export type { WriteLabelMapOptions, LabelMapExtension } from './label-map'
export { labelStatistics, writeStatistics, statisticsCsv } from './statistics'
export type { LabelStatistic, Box } from './statistics'
export { checkOutputPath, writeFileAtomic, produceAtomically } from '../fs/atomic'
