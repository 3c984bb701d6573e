/** Export of results: label maps (NIfTI with the input's own header, or NRRD) and statistics. */
export { writeLabelMap, prepareLabelMap, labelMapExtension, LABEL_MAP_EXTENSIONS } from './label-map'
export type { WriteLabelMapOptions, LabelMapExtension } from './label-map'
export { labelStatistics, writeStatistics, prepareStatistics, statisticsFormat, statisticsCsv, STATISTICS_TEMP_EXTENSION } from './statistics'
export type { LabelStatistic, Box } from './statistics'
export { checkOutputPath, writeFileAtomic, produceAtomically, writeOutputsAtomically } from '../fs/atomic'
export type { OutputRules, PendingOutput } from '../fs/atomic'
