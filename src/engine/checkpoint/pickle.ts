/**
 * A restricted pickle virtual machine (protocols 0–5 as torch.save writes them) that never executes
 * code: every global the stream names is looked up in an allow-list of pure functions and type
 * markers supplied by the caller; any other global is refused (UNSAFE_CHECKPOINT) at the moment it is
 * named, before anything could call it. Python values map to JS: dict → Map, list/tuple → Array,
 * str → string, int → number (bigint beyond 2^53), float → number, bytes → Uint8Array, None → null.
 * Work is linear in the pickle's length and bounded by PICKLE_LIMITS (integer length, stack depth,
 * memo size, values pushed); past a limit the pickle is refused (BAD_CHECKPOINT naming the limit).
 */
import { SegError } from '../errors'
import { PICKLE_LIMITS, type PickleLimits } from './limits'

/** A global the stream named and the allow-list accepted. `call` is absent for type markers. */
export interface PyGlobal {
  kind: 'global'
  module: string
  name: string
  call?: (args: unknown[]) => unknown
}

export interface UnpickleOptions {
  /** File name used in messages. */
  label: string
  /** "module.name" → allowed global. */
  globals: ReadonlyMap<string, PyGlobal>
  /** torch's persistent_load: resolves storage references. */
  persistentLoad: (pid: unknown) => unknown
  /** Bounds on the VM (tests lower them); default PICKLE_LIMITS. */
  limits?: Partial<PickleLimits>
}

/** Modules whose globals are plainly not model classes (no "save the state_dict" hint for them). */
const SYSTEM_MODULES = new Set(['os', 'posix', 'nt', 'builtins', '__builtin__', 'subprocess', 'sys', 'shutil', 'socket', 'runpy', 'importlib', 'pickle', 'marshal', 'types', 'ctypes', 'webbrowser', 'pty', 'code', 'operator', 'functools', 'numpy'])

/** Run the pickle in `bytes` and return the object it builds. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const { label } = opts
  const limits = { ...PICKLE_LIMITS, ...opts.limits }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const bad = (why: string): SegError => new SegError('BAD_CHECKPOINT', `${label}: the pickle is damaged (${why}); expected a torch.save file`)
  const beyond = (what: string): SegError => new SegError('BAD_CHECKPOINT', `${label}: the pickle ${what} (a limit of the checkpoint reader); expected a torch.save state dict`)
  let pos = 0
  let stack: unknown[] = []
  const marks: unknown[][] = []
  /** Values set aside under the MARKs (the sum of their lengths), so depth is known without a walk. */
  let saved = 0
  let pushed = 0
  const memo = new Map<number, unknown>()

  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > bytes.byteLength) throw bad(`it ends early at byte ${pos}`)
    const out = bytes.subarray(pos, pos + n)
    pos += n
    return out
  }
  const u8 = (): number => take(1)[0]
  const u16 = (): number => { const o = pos; take(2); return view.getUint16(o, true) }
  const i32 = (): number => { const o = pos; take(4); return view.getInt32(o, true) }
  const u32 = (): number => { const o = pos; take(4); return view.getUint32(o, true) }
  const u64 = (): number => { const o = pos; take(8); return Number(view.getBigUint64(o, true)) }
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos)
    if (end < 0) throw bad('a text argument has no end of line')
    const s = latin1Of(bytes.subarray(pos, end))
    pos = end + 1
    return s
  }
  const utf8 = (n: number): string => new TextDecoder('utf-8').decode(take(n))
  const latin1 = (n: number): string => latin1Of(take(n))
  const checkDepth = (): void => {
    if (stack.length + saved + marks.length >= limits.stackDepth) throw beyond(`exceeds the stack depth limit of ${limits.stackDepth} values and marks`)
  }
  // Reads `stack` when called, so push(popMark()) pushes onto the restored stack.
  const push = (v: unknown): void => {
    checkDepth()
    if (++pushed > limits.values) throw beyond(`builds more than ${limits.values} values`)
    stack.push(v)
  }
  const mark = (): void => {
    checkDepth()
    marks.push(stack)
    saved += stack.length
    stack = []
  }
  const pop = (): unknown => {
    if (stack.length === 0) throw bad('stack underflow')
    return stack.pop()
  }
  const top = (): unknown => {
    if (stack.length === 0) throw bad('stack underflow')
    return stack[stack.length - 1]
  }
  const popMark = (): unknown[] => {
    const items = stack
    const prev = marks.pop()
    if (!prev) throw bad('MARK missing')
    saved -= prev.length
    stack = prev
    return items
  }
  const findClass = (module: string, name: string): PyGlobal => {
    const g = opts.globals.get(`${module}.${name}`)
    if (!g) {
      const hint = SYSTEM_MODULES.has(module.split('.')[0]) ? '' : '; if this is a whole model saved with torch.save(model), save model.state_dict() instead'
      throw new SegError('UNSAFE_CHECKPOINT', `${label} names the global ${module}.${name}; only tensor-rebuild globals are allowed (refusing to execute code)${hint}`)
    }
    return g
  }
  const callGlobal = (fn: unknown, args: unknown): unknown => {
    if (!isGlobal(fn) || !fn.call) throw bad(`it calls ${describe(fn)}, which is not callable here`)
    if (!Array.isArray(args)) throw bad(`arguments of ${fn.module}.${fn.name} are not a tuple`)
    return fn.call(args)
  }
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map)) throw bad('SETITEM on a non-dict')
    for (let i = 0; i + 1 < kv.length; i += 2) target.set(kv[i], kv[i + 1])
  }
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) throw bad('APPEND on a non-list')
    for (const it of items) target.push(it) // not push(...items): a spread of 10^5 arguments overflows the call stack
  }
  const put = (key: number): void => {
    if (memo.size >= limits.memoEntries && !memo.has(key)) throw beyond(`exceeds the memo size limit of ${limits.memoEntries} entries`)
    memo.set(key, top())
  }
  const toInt = (n: bigint): number | bigint => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n)
  /** LONG1/LONG4: `n` bytes of little-endian two's complement, length checked before reading them. */
  const long = (op: string, n: number): number | bigint => {
    if (n < 0) throw bad(`negative ${op} length`)
    if (n > limits.longBytes) throw beyond(`holds a ${op} integer of ${n} bytes; at most ${limits.longBytes} bytes are accepted`)
    return n === 0 ? 0 : toInt(longOfBytes(take(n)))
  }
  /** INT/LONG (protocol 0): decimal text, length checked before BigInt parses it. */
  const decimal = (s: string): number | bigint => {
    const digits = s.replace(/^[-+]/, '')
    if (digits.length > limits.intDigits) throw beyond(`holds an integer of ${digits.length} digits; at most ${limits.intDigits} digits are accepted`)
    return toInt(BigInt(s))
  }

  try {
    return run()
  } catch (e) {
    if (e instanceof SegError) throw e
    // Anything else (a malformed number, a wrongly typed argument) is damage, not a bug of ours to surface raw.
    throw bad((e as Error).message.split('\n')[0])
  }

  function run(): unknown {
    for (;;) {
      const op = u8()
      switch (op) {
        case 0x80: { const proto = u8(); if (proto > 5) throw bad(`unsupported pickle protocol ${proto}`); break } // PROTO
        case 0x95: u64(); break // FRAME (framing is only a read-ahead hint)
        case 0x2e: return pop() // STOP '.'
        case 0x28: mark(); break // MARK '('
        case 0x30: pop(); break // POP '0'
        case 0x31: popMark(); break // POP_MARK '1'
        case 0x32: push(top()); break // DUP '2'
        case 0x4e: push(null); break // NONE 'N'
        case 0x88: push(true); break // NEWTRUE
        case 0x89: push(false); break // NEWFALSE
        case 0x4b: push(u8()); break // BININT1 'K'
        case 0x4d: push(u16()); break // BININT2 'M'
        case 0x4a: push(i32()); break // BININT 'J'
        case 0x8a: push(long('LONG1', u8())); break // LONG1
        case 0x8b: push(long('LONG4', i32())); break // LONG4
        case 0x49: { // INT 'I' (protocol 0; '00'/'01' are False/True)
          const s = line()
          push(s === '00' ? false : s === '01' ? true : decimal(s))
          break
        }
        case 0x4c: push(decimal(line().replace(/L$/, ''))); break // LONG 'L'
        case 0x47: { const o = pos; take(8); push(view.getFloat64(o, false)); break } // BINFLOAT 'G'
        case 0x46: push(parseFloat(line())); break // FLOAT 'F'
        case 0x8c: push(utf8(u8())); break // SHORT_BINUNICODE
        case 0x58: push(utf8(u32())); break // BINUNICODE 'X'
        case 0x8d: push(utf8(u64())); break // BINUNICODE8
        case 0x56: push(rawUnicodeEscape(line())); break // UNICODE 'V' (raw-unicode-escape)
        case 0x55: push(latin1(u8())); break // SHORT_BINSTRING 'U'
        case 0x54: { const n = i32(); if (n < 0) throw bad('negative BINSTRING length'); push(latin1(n)); break } // BINSTRING 'T'
        case 0x53: push(line().replace(/^(['"])(.*)\1$/, '$2')); break // STRING 'S'
        case 0x43: push(take(u8()).slice()); break // SHORT_BINBYTES 'C'
        case 0x42: push(take(u32()).slice()); break // BINBYTES 'B'
        case 0x8e: push(take(u64()).slice()); break // BINBYTES8
        case 0x96: push(take(u64()).slice()); break // BYTEARRAY8
        case 0x29: push([]); break // EMPTY_TUPLE ')'
        case 0x5d: push([]); break // EMPTY_LIST ']'
        case 0x7d: push(new Map()); break // EMPTY_DICT '}'
        case 0x8f: push(new Set()); break // EMPTY_SET
        case 0x74: push(popMark()); break // TUPLE 't'
        case 0x6c: push(popMark()); break // LIST 'l'
        case 0x85: push([pop()]); break // TUPLE1
        case 0x86: { const b = pop(); const a = pop(); push([a, b]); break } // TUPLE2
        case 0x87: { const c = pop(); const b = pop(); const a = pop(); push([a, b, c]); break } // TUPLE3
        case 0x64: { const kv = popMark(); const d = new Map(); setItems(d, kv); push(d); break } // DICT 'd'
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break } // SETITEM 's'
        case 0x75: { const kv = popMark(); setItems(top(), kv); break } // SETITEMS 'u'
        case 0x61: { const v = pop(); appendItems(top(), [v]); break } // APPEND 'a'
        case 0x65: { const items = popMark(); appendItems(top(), items); break } // APPENDS 'e'
        case 0x90: { // ADDITEMS
          const items = popMark()
          const s = top()
          if (!(s instanceof Set)) throw bad('ADDITEMS on a non-set')
          for (const it of items) s.add(it)
          break
        }
        case 0x91: push(new Set(popMark())); break // FROZENSET
        case 0x70: put(Number(line())); break // PUT 'p'
        case 0x71: put(u8()); break // BINPUT 'q'
        case 0x72: put(u32()); break // LONG_BINPUT 'r'
        case 0x94: put(memo.size); break // MEMOIZE
        case 0x67: push(fromMemo(memo, Number(line()), bad)); break // GET 'g'
        case 0x68: push(fromMemo(memo, u8(), bad)); break // BINGET 'h'
        case 0x6a: push(fromMemo(memo, u32(), bad)); break // LONG_BINGET 'j'
        case 0x63: { const module = line(); const name = line(); push(findClass(module, name)); break } // GLOBAL 'c'
        case 0x93: { // STACK_GLOBAL
          const name = pop()
          const module = pop()
          if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL without strings')
          push(findClass(module, name))
          break
        }
        case 0x52: { const args = pop(); const fn = pop(); push(callGlobal(fn, args)); break } // REDUCE 'R'
        case 0x81: { const args = pop(); const cls = pop(); push(callGlobal(cls, args)); break } // NEWOBJ
        case 0x92: { pop(); const args = pop(); const cls = pop(); push(callGlobal(cls, args)); break } // NEWOBJ_EX (kwargs ignored)
        case 0x69: { // INST 'i'
          const module = line()
          const name = line()
          push(callGlobal(findClass(module, name), popMark()))
          break
        }
        case 0x6f: { const items = popMark(); const cls = items.shift(); push(callGlobal(cls, items)); break } // OBJ 'o'
        case 0x62: { // BUILD 'b': set state; we keep dicts/tensors as they are (OrderedDict's _metadata is dropped)
          pop()
          top()
          break
        }
        case 0x51: push(opts.persistentLoad(pop())); break // BINPERSID 'Q'
        case 0x50: push(opts.persistentLoad(line())); break // PERSID 'P'
        case 0x82: case 0x83: case 0x84: // EXT1/2/4: the extension registry names globals indirectly
          throw new SegError('UNSAFE_CHECKPOINT', `${label} uses a pickle extension code (an indirect global); only tensor-rebuild globals are allowed (refusing to execute code)`)
        case 0x97: case 0x98: // NEXT_BUFFER / READONLY_BUFFER: out-of-band buffers, never in torch.save files
          throw bad('it uses out-of-band buffers')
        default:
          throw bad(`unknown opcode 0x${op.toString(16)} at byte ${pos - 1}`)
      }
    }
  }
}

/**
 * Little-endian two's complement bytes → BigInt, in one hex parse (linear; a shift per byte copies
 * the growing BigInt each time, which took > 90 s for 1 MB).
 */
export function longOfBytes(b: Uint8Array): bigint {
  if (b.length === 0) return 0n
  return BigInt.asIntN(8 * b.length, BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`))
}

/** ISO-8859-1 decoding (byte = code point; TextDecoder's 'latin1' is windows-1252, which differs in 0x80–0x9f). */
export function latin1Of(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192))
  return s
}

/** Python's raw-unicode-escape: bytes as latin-1 code points, plus \uXXXX and \UXXXXXXXX escapes. */
export function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u, U) => String.fromCodePoint(parseInt(u ?? U, 16)))
}

function fromMemo(memo: Map<number, unknown>, key: number, bad: (why: string) => SegError): unknown {
  if (!memo.has(key)) throw bad(`memo entry ${key} is missing`)
  return memo.get(key)
}

export function isGlobal(v: unknown): v is PyGlobal {
  return typeof v === 'object' && v !== null && (v as PyGlobal).kind === 'global'
}

function describe(v: unknown): string {
  return isGlobal(v) ? `${v.module}.${v.name}` : typeof v
}
