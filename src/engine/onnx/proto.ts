/**
 * ONNX ModelProto codec (field numbers from onnx/onnx.proto, proto2). Hand-written on top of
 * `wire.ts` because only ~10 messages are needed (Model, OperatorSetId, Graph, Node, Attribute,
 * Tensor, ValueInfo, Type, Type.Tensor, TensorShape(.Dimension), StringStringEntry) and no protobuf
 * runtime is a dependency. Every message keeps the fields it does not model in `unknown` (their
 * exact bytes), so decode → edit → encode leaves everything else untouched. Tensor payloads stay
 * views into the input buffer until re-encoded. Little-endian host assumed (as ONNX raw_data is LE).
 */
import { Writer, WIRE_I32, readFields } from './wire'

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const

/** ONNX AttributeProto.AttributeType. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const

/** A tensor dim: a fixed size, a symbolic name (dim_param), or null when neither is set. */
export type Dim = number | string | null

export interface OnnxTensor {
  name: string
  dims: number[]
  dataType: number
  rawData?: Uint8Array
  floatData?: number[]
  int32Data?: number[]
  int64Data?: number[]
  doubleData?: number[]
  unknown: Uint8Array[]
}

export interface TensorType {
  elemType: number
  /** Absent = rank unknown. */
  shape?: Dim[]
  unknown: Uint8Array[]
}

export interface ValueInfo {
  name: string
  /** Absent when the TypeProto is not a tensor type (then it is kept verbatim in `unknownType`). */
  tensorType?: TensorType
  unknownType?: Uint8Array
  docString?: string
  unknown: Uint8Array[]
}

export interface OnnxAttribute {
  name: string
  type: number
  f?: number
  i?: number
  s?: Uint8Array
  t?: OnnxTensor
  g?: OnnxGraph
  floats?: number[]
  ints?: number[]
  strings?: Uint8Array[]
  unknown: Uint8Array[]
}

export interface OnnxNode {
  inputs: string[]
  outputs: string[]
  name: string
  opType: string
  domain: string
  attributes: OnnxAttribute[]
  unknown: Uint8Array[]
}

export interface OnnxGraph {
  name: string
  nodes: OnnxNode[]
  initializers: OnnxTensor[]
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  valueInfo: ValueInfo[]
  unknown: Uint8Array[]
}

export interface OpsetId {
  domain: string
  version: number
}

export interface OnnxModel {
  irVersion: number
  opsetImport: OpsetId[]
  producerName: string
  producerVersion: string
  domain: string
  modelVersion: number
  docString: string
  graph: OnnxGraph
  metadata: { key: string; value: string }[]
  unknown: Uint8Array[]
}

// ---------------------------------------------------------------- decoding

export function decodeTensor(buf: Uint8Array): OnnxTensor {
  const t: OnnxTensor = { name: '', dims: [], dataType: 0, unknown: [] }
  readFields(buf, (r, f, w) => {
    if (f === 1) r.repeatedVarint(w, t.dims)
    else if (f === 2) t.dataType = r.varint()
    else if (f === 4) r.repeatedFloat(w, (t.floatData ??= []))
    else if (f === 5) r.repeatedVarint(w, (t.int32Data ??= []))
    else if (f === 7) r.repeatedVarint(w, (t.int64Data ??= []))
    else if (f === 8) t.name = r.string()
    else if (f === 9) t.rawData = r.bytes()
    else if (f === 10) r.repeatedDouble(w, (t.doubleData ??= []))
    else return false
    return true
  }, t.unknown)
  return t
}

function decodeDim(buf: Uint8Array, unknownSink: Uint8Array[]): Dim {
  let d: Dim = null
  readFields(buf, (r, f) => {
    if (f === 1) d = r.varint()
    else if (f === 2) d = r.string()
    else return false
    return true
  }, unknownSink)
  return d
}

function decodeTensorType(buf: Uint8Array): TensorType {
  const tt: TensorType = { elemType: 0, unknown: [] }
  readFields(buf, (r, f) => {
    if (f === 1) tt.elemType = r.varint()
    else if (f === 2) {
      const shape: Dim[] = []
      // Dimension denotations (rare) are dropped: shapes here are data, not documentation.
      const ignored: Uint8Array[] = []
      readFields(r.bytes(), (rr, ff) => {
        if (ff !== 1) return false
        shape.push(decodeDim(rr.bytes(), ignored))
        return true
      }, ignored)
      tt.shape = shape
    } else return false
    return true
  }, tt.unknown)
  return tt
}

export function decodeValueInfo(buf: Uint8Array): ValueInfo {
  const v: ValueInfo = { name: '', unknown: [] }
  readFields(buf, (r, f) => {
    if (f === 1) v.name = r.string()
    else if (f === 2) {
      const typeBytes = r.bytes()
      let tensorBytes: Uint8Array | undefined
      const other: Uint8Array[] = []
      readFields(typeBytes, (rr, ff) => {
        if (ff === 1) tensorBytes = rr.bytes()
        else return false
        return true
      }, other)
      // Only a plain tensor type is modelled; anything else (denotation, sequences) stays verbatim.
      if (tensorBytes && other.length === 0) v.tensorType = decodeTensorType(tensorBytes)
      else v.unknownType = typeBytes
    } else if (f === 3) v.docString = r.string()
    else return false
    return true
  }, v.unknown)
  return v
}

export function decodeAttribute(buf: Uint8Array): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, unknown: [] }
  readFields(buf, (r, f, w) => {
    if (f === 1) a.name = r.string()
    else if (f === 20) a.type = r.varint()
    else if (f === 2 && w === WIRE_I32) a.f = r.float32()
    else if (f === 3) a.i = r.varint()
    else if (f === 4) a.s = r.bytes()
    else if (f === 5) a.t = decodeTensor(r.bytes())
    else if (f === 6) a.g = decodeGraph(r.bytes())
    else if (f === 7) r.repeatedFloat(w, (a.floats ??= []))
    else if (f === 8) r.repeatedVarint(w, (a.ints ??= []))
    else if (f === 9) (a.strings ??= []).push(r.bytes())
    else return false
    return true
  }, a.unknown)
  return a
}

export function decodeNode(buf: Uint8Array): OnnxNode {
  const n: OnnxNode = { inputs: [], outputs: [], name: '', opType: '', domain: '', attributes: [], unknown: [] }
  readFields(buf, (r, f) => {
    if (f === 1) n.inputs.push(r.string())
    else if (f === 2) n.outputs.push(r.string())
    else if (f === 3) n.name = r.string()
    else if (f === 4) n.opType = r.string()
    else if (f === 5) n.attributes.push(decodeAttribute(r.bytes()))
    else if (f === 7) n.domain = r.string()
    else return false
    return true
  }, n.unknown)
  return n
}

export function decodeGraph(buf: Uint8Array): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], unknown: [] }
  readFields(buf, (r, f) => {
    if (f === 1) g.nodes.push(decodeNode(r.bytes()))
    else if (f === 2) g.name = r.string()
    else if (f === 5) g.initializers.push(decodeTensor(r.bytes()))
    else if (f === 11) g.inputs.push(decodeValueInfo(r.bytes()))
    else if (f === 12) g.outputs.push(decodeValueInfo(r.bytes()))
    else if (f === 13) g.valueInfo.push(decodeValueInfo(r.bytes()))
    else return false
    return true
  }, g.unknown)
  return g
}

/** Decodes a serialized ModelProto. Tensor payloads are views into `bytes` (keep it alive). */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const m: OnnxModel = {
    irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', domain: '', modelVersion: 0,
    docString: '', graph: decodeGraph(new Uint8Array(0)), metadata: [], unknown: []
  }
  readFields(bytes, (r, f) => {
    if (f === 1) m.irVersion = r.varint()
    else if (f === 2) m.producerName = r.string()
    else if (f === 3) m.producerVersion = r.string()
    else if (f === 4) m.domain = r.string()
    else if (f === 5) m.modelVersion = r.varint()
    else if (f === 6) m.docString = r.string()
    else if (f === 7) m.graph = decodeGraph(r.bytes())
    else if (f === 8) {
      const o: OpsetId = { domain: '', version: 0 }
      readFields(r.bytes(), (rr, ff) => {
        if (ff === 1) o.domain = rr.string()
        else if (ff === 2) o.version = rr.varint()
        else return false
        return true
      }, [])
      m.opsetImport.push(o)
    } else if (f === 14) {
      const e = { key: '', value: '' }
      readFields(r.bytes(), (rr, ff) => {
        if (ff === 1) e.key = rr.string()
        else if (ff === 2) e.value = rr.string()
        else return false
        return true
      }, [])
      m.metadata.push(e)
    } else return false
    return true
  }, m.unknown)
  return m
}

// ---------------------------------------------------------------- encoding

function unknownTail(w: Writer, unknown: readonly Uint8Array[]): Writer {
  for (const u of unknown) w.raw(u)
  return w
}

export function encodeTensor(t: OnnxTensor): Writer {
  const w = new Writer()
  for (const d of t.dims) w.varint(1, d)
  w.varint(2, t.dataType)
  if (t.floatData) w.packedFloats(4, t.floatData)
  if (t.int32Data) w.packedVarints(5, t.int32Data)
  if (t.int64Data) w.packedVarints(7, t.int64Data)
  if (t.name) w.string(8, t.name)
  if (t.rawData) w.bytes(9, t.rawData)
  if (t.doubleData) w.packedDoubles(10, t.doubleData)
  return unknownTail(w, t.unknown)
}

function encodeTensorType(tt: TensorType): Writer {
  const w = new Writer().varint(1, tt.elemType)
  if (tt.shape) {
    const shape = new Writer()
    for (const d of tt.shape) {
      const dim = new Writer()
      if (typeof d === 'number') dim.varint(1, d)
      else if (typeof d === 'string') dim.string(2, d)
      shape.message(1, dim)
    }
    w.message(2, shape)
  }
  return unknownTail(w, tt.unknown)
}

export function encodeValueInfo(v: ValueInfo): Writer {
  const w = new Writer().string(1, v.name)
  if (v.tensorType) w.message(2, new Writer().message(1, encodeTensorType(v.tensorType)))
  else if (v.unknownType) w.bytes(2, v.unknownType)
  if (v.docString) w.string(3, v.docString)
  return unknownTail(w, v.unknown)
}

export function encodeAttribute(a: OnnxAttribute): Writer {
  const w = new Writer().string(1, a.name)
  if (a.f !== undefined) w.float32(2, a.f)
  if (a.i !== undefined) w.varint(3, a.i)
  if (a.s) w.bytes(4, a.s)
  if (a.t) w.message(5, encodeTensor(a.t))
  if (a.g) w.message(6, encodeGraph(a.g))
  for (const x of a.floats ?? []) w.float32(7, x)
  for (const x of a.ints ?? []) w.varint(8, x)
  for (const x of a.strings ?? []) w.bytes(9, x)
  w.varint(20, a.type)
  return unknownTail(w, a.unknown)
}

export function encodeNode(n: OnnxNode): Writer {
  const w = new Writer()
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  if (n.name) w.string(3, n.name)
  w.string(4, n.opType)
  for (const a of n.attributes) w.message(5, encodeAttribute(a))
  if (n.domain) w.string(7, n.domain)
  return unknownTail(w, n.unknown)
}

export function encodeGraph(g: OnnxGraph): Writer {
  const w = new Writer()
  for (const n of g.nodes) w.message(1, encodeNode(n))
  w.string(2, g.name)
  for (const t of g.initializers) w.message(5, encodeTensor(t))
  for (const v of g.inputs) w.message(11, encodeValueInfo(v))
  for (const v of g.outputs) w.message(12, encodeValueInfo(v))
  for (const v of g.valueInfo) w.message(13, encodeValueInfo(v))
  return unknownTail(w, g.unknown)
}

/** Serializes a ModelProto. Unknown fields are written back verbatim after the known ones. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new Writer().varint(1, m.irVersion)
  if (m.producerName) w.string(2, m.producerName)
  if (m.producerVersion) w.string(3, m.producerVersion)
  if (m.domain) w.string(4, m.domain)
  if (m.modelVersion) w.varint(5, m.modelVersion)
  if (m.docString) w.string(6, m.docString)
  w.message(7, encodeGraph(m.graph))
  for (const o of m.opsetImport) {
    const ow = new Writer()
    if (o.domain) ow.string(1, o.domain)
    w.message(8, ow.varint(2, o.version))
  }
  for (const e of m.metadata) w.message(14, new Writer().string(1, e.key).string(2, e.value))
  return unknownTail(w, m.unknown).finish()
}
