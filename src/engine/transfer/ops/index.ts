/** Transfer operations: channel adaptation, load report, config inference, freezing, transfer, manifest. */
export * from './adapt-input-conv'
export * from './load-report'
export * from './infer-config'
export * from './freeze'
export * from './transfer'
export * from './manifest'
