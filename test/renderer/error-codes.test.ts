/**
 * The renderer acts on a failure's code (ApiError.code, carried by the envelope), never on its text:
 * no string matching or rewriting of an error's message anywhere in src/renderer, so rewording an
 * engine message can never change what the UI does.
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { REPO } from '../helpers/data'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue)$/.test(n) ? [p] : []
  })
}

/** A string method or a regex test applied to something named error/message (e.g. `e.message.includes(`, `/cancel/.test(s.error)`). */
const TEXT_MATCH = /\b(?:message|error)\s*\??\.\s*(?:includes|match|matchAll|replace|replaceAll|startsWith|endsWith|search|indexOf)\s*\(|\.test\(\s*[\w.?]*\b(?:message|error)\b/

describe('renderer error handling', () => {
  it('the pattern catches the text matching it forbids', () => {
    expect("if (this.error.includes('cancelled')) x()").toMatch(TEXT_MATCH)
    expect("e.message.replace(/^Error invoking remote method '[^']+': /, '')").toMatch(TEXT_MATCH)
    expect('if (/exists/.test(s.error)) ask()').toMatch(TEXT_MATCH)
    expect("if (this.errorCode === 'OUTPUT_EXISTS') ask()").not.toMatch(TEXT_MATCH)
  })

  it.each(files(join(REPO, 'src/renderer/src')).map((f) => [relative(REPO, f), f]))('%s matches no error message text (it reads the code)', (_name, f) => {
    const hits = readFileSync(f, 'utf8').split('\n').filter((line) => TEXT_MATCH.test(line))
    expect(hits).toEqual([])
  })
})
