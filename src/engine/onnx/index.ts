/** ONNX codec, graph builder and model edits (see proto.ts, graph.ts, edit.ts). */
export * from './proto'
export * from './graph'
export * from './edit'
export { Reader, Writer } from './wire'
