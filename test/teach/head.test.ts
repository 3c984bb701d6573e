/**
 * The head's hand-written gradient against central finite differences of its own loss (float64),
 * for the linear and the MLP head with class weights and weight decay; and training determinism.
 */
import { describe, expect, it } from 'vitest'
import { classWeights, featureStats, initHead, lossAndGradient, standardiseAll, trainHead, DEFAULT_TRAIN, type HeadKind, type Samples } from '../../src/engine/teach/head'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'

function samples(n: number, F: number, K: number, seed: number): Samples {
  const rand = mulberry32(seed)
  const x = Float32Array.from({ length: n * F }, () => rand() * 4 - 2)
  // Labels that depend on the features, so the head has something to learn.
  const y = Int32Array.from({ length: n }, (_, r) => Math.min(K - 1, Math.floor(((x[r * F] + x[r * F + 1] + 4) / 8) * K)))
  return { x, y, F }
}

describe('head gradient', () => {
  for (const kind of ['linear', 'mlp'] as HeadKind[]) {
    it(`${kind}: matches central finite differences of the class-weighted loss with weight decay`, () => {
      const s = samples(40, 5, 3, 3)
      const head = initHead(kind, 5, 3, 4, featureStats(s), 11)
      // Non-zero linear weights, so every term of the gradient is exercised.
      const rand = mulberry32(5)
      for (const L of head.layers) {
        for (let i = 0; i < L.W.length; i++) L.W[i] = rand() - 0.5
        for (let i = 0; i < L.b.length; i++) L.b[i] = rand() - 0.5
      }
      const rows = Array.from({ length: 40 }, (_, i) => i)
      const d = standardiseAll(head, s)
      const w = classWeights(s.y, 3)
      const { grads } = lossAndGradient(head, d, rows, w, 0.01)
      const h = 1e-6
      head.layers.forEach((L, l) => {
        for (const key of ['W', 'b'] as const) {
          for (let i = 0; i < L[key].length; i++) {
            const keep = L[key][i]
            L[key][i] = keep + h
            const up = lossAndGradient(head, d, rows, w, 0.01).loss
            L[key][i] = keep - h
            const down = lossAndGradient(head, d, rows, w, 0.01).loss
            L[key][i] = keep
            expect(grads[l][key][i]).toBeCloseTo((up - down) / (2 * h), 6)
          }
        }
      })
    })
  }
  it('training is deterministic in the seed, and learns a separable task', () => {
    const train = samples(600, 4, 2, 1)
    const val = samples(200, 4, 2, 2)
    const opts = { ...DEFAULT_TRAIN, kind: 'mlp' as HeadKind, seed: 9, maxEpochs: 20 }
    const a = trainHead(train, val, 2, opts)
    const b = trainHead(train, val, 2, opts)
    expect(b.history).toEqual(a.history)
    expect(Array.from(b.head.layers[0].W)).toEqual(Array.from(a.head.layers[0].W))
    expect(Math.min(...a.best.validationDice)).toBeGreaterThan(0.9)
  })
})
