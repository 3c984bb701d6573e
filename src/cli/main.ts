/**
 * `segtransfer` — the command line over the engine. Each command lives in commands/; this file only
 * dispatches and turns errors into one line and an exit code (0 ok, 2 bad input, 70 internal error).
 */
import { isSegError } from '../engine/errors'
import { fsReason } from '../engine/fs/atomic'
import type { CommandIO } from './io'
import * as segmentCmd from './commands/segment'
import * as infoCmd from './commands/info'
import * as importModelCmd from './commands/import-model'
import * as demoCmd from './commands/demo'
import * as summaryCmd from './commands/summary'
import * as transferCmd from './commands/transfer'
import * as batchCmd from './commands/batch'
import * as queueCmd from './commands/queue'
import * as workerCmd from './commands/worker'
import * as teachCmd from './commands/teach'

interface Command {
  run(argv: string[], io: CommandIO): Promise<number>
  usage: string
}

const COMMANDS: Record<string, Command> = {
  segment: segmentCmd,
  info: infoCmd,
  'import-model': importModelCmd,
  demo: demoCmd,
  summary: summaryCmd,
  transfer: transferCmd,
  batch: batchCmd,
  queue: queueCmd,
  worker: workerCmd,
  teach: teachCmd
}

function help(io: CommandIO): void {
  io.out('segtransfer — local 3D segmentation and ResNet/ResUNet transfer\n')
  for (const c of Object.values(COMMANDS)) io.out(c.usage.trimEnd() + '\n')
}

export async function main(argv: string[], io: CommandIO = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    help(io)
    return name ? 0 : 2
  }
  const cmd = COMMANDS[name]
  if (!cmd) {
    io.err(`error: unknown command '${name}'; expected one of ${Object.keys(COMMANDS).join(', ')}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage)
    return 0
  }
  try {
    return await cmd.run(rest, io)
  } catch (e) {
    if (isSegError(e)) {
      io.err(`error: ${e.message}`)
      return e.code === 'CANCELLED' ? 130 : 2
    }
    const err = e as { code?: string; message?: string; path?: string }
    // A file-system error that escaped the engine (e.g. an unreadable input): one line, a user error.
    if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code) && typeof err.path === 'string') {
      io.err(`error: ${err.path} cannot be used: ${fsReason(e)}; expected a file or folder this user can read (inputs) or write (outputs)`)
      return 2
    }
    // node:util parseArgs errors are user errors too.
    if (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`error: ${String(err.message).split('\n')[0]}; see 'segtransfer ${name} --help'`)
      return 2
    }
    io.err(`internal error: ${String(err?.message ?? e).split('\n')[0]} (please report this)`)
    return 70
  }
}
