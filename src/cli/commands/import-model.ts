import { parseArgs } from 'node:util'
import path from 'node:path'
import { SegError } from '../../engine/errors'
import { importModel } from '../../engine/bundle/import-model'
import type { ManifestInput } from '../../engine/bundle/manifest'
import type { CommandIO } from '../io'

export const usage = `segtransfer import-model <model.onnx> --labels <labels.json> --out <bundle> [options]
    Wrap a plain ONNX model in a bundle, declaring what its model card says:
    --name <text>                 bundle name (default: file name)
    --channels <name:modality,..> input channels in order (default image:other)
    --norm <spec>                 intensity normalisation of every channel: none | minmax | zscore |
                                  zscore-nonzero | window:LOW,HIGH | percentile:LOW,HIGH[,minmax|zscore]
    --orientation <RAS|LIA|..>    reorient to these axis codes (exact permutation) before the model
    --spacing <x,y,z>             resample to this spacing in mm (trilinear)
    --conform <size>              conform as FreeSurfer/NiiVue: N or X,Y,Z voxels, with
      --conform-spacing <mm>      (default 1), --conform-orientation <codes> (default LIA),
      --conform-uint8             rescale intensities to 0..255 uint8
      --conform-centre freesurfer|world   centre the grid on the input's index size/2 as
                                  FreeSurfer does (default: models trained on mri_convert --conform
                                  output) or on its geometric centre (the same mask in any voxel order)
    --mode whole|sliding          whole volume (default) or sliding windows
    --patch <x,y,z> --overlap <f> --batch <n> --blend gaussian|constant   sliding-window settings
    --divisible-by <n>            pad whole volumes to a multiple of n
    --output softmax|sigmoid      output kind (default softmax) [--threshold f]
    --largest-component           keep the largest connected component of each label
    --resampling probabilities|labels   back to the input grid: interpolate class probabilities
                                  (default) or copy the nearest model voxel's label
    --axis-order zyx|xyz          tensor layout of the voxels (default zyx: NIfTI storage order)
    --license <text>`

function resamplingOption(text: string): 'probabilities' | 'labels' {
  if (text !== 'probabilities' && text !== 'labels') {
    throw new SegError('BAD_ARGUMENT', `--resampling ${text} is not valid; expected probabilities or labels`)
  }
  return text
}

function centreOption(text: string): 'freesurfer' | 'world' {
  if (text !== 'freesurfer' && text !== 'world') {
    throw new SegError('BAD_ARGUMENT', `--conform-centre ${text} is not valid; expected freesurfer or world`)
  }
  return text
}

function numbers(flag: string, text: string, n: 1 | 3): number[] {
  const parts = text.split(',').map(Number)
  if (parts.some((x) => !Number.isFinite(x) || x <= 0) || (parts.length !== n && parts.length !== 1)) {
    throw new SegError('BAD_ARGUMENT', `${flag} ${text} is not valid; expected ${n === 3 ? 'one positive number or three (x,y,z)' : 'a positive number'}`)
  }
  return parts.length === 1 ? Array(n).fill(parts[0]) : parts
}

/** Parses --norm into the manifest's normalisation spec. */
export function parseNorm(text: string): ManifestInput['channels'][number]['normalization'] {
  const [kind, args = ''] = text.split(':')
  const nums = args.split(',').filter(Boolean)
  switch (kind) {
    case 'none':
    case 'minmax':
      return { kind }
    case 'zscore':
      return { kind: 'zscore' }
    case 'zscore-nonzero':
      return { kind: 'zscore', nonzeroOnly: true }
    case 'window':
      if (nums.length === 2 && nums.every((x) => Number.isFinite(Number(x))) && Number(nums[0]) < Number(nums[1])) {
        return { kind: 'window', lower: Number(nums[0]), upper: Number(nums[1]) }
      }
      break
    case 'percentile': {
      const [lo, hi, then = 'minmax'] = nums
      if (Number(lo) >= 0 && Number(hi) <= 100 && Number(lo) < Number(hi) && (then === 'minmax' || then === 'zscore')) {
        return { kind: 'percentile', lower: Number(lo), upper: Number(hi), then }
      }
      break
    }
  }
  throw new SegError('BAD_ARGUMENT', `--norm ${text} is not valid; expected none, minmax, zscore, zscore-nonzero, window:LOW,HIGH or percentile:LOW,HIGH[,minmax|zscore]`)
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      labels: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      channels: { type: 'string' },
      norm: { type: 'string', default: 'minmax' },
      orientation: { type: 'string' },
      spacing: { type: 'string' },
      conform: { type: 'string' },
      'conform-spacing': { type: 'string', default: '1' },
      'conform-orientation': { type: 'string', default: 'LIA' },
      'conform-uint8': { type: 'boolean', default: false },
      'conform-centre': { type: 'string', default: 'freesurfer' },
      mode: { type: 'string', default: 'whole' },
      patch: { type: 'string' },
      overlap: { type: 'string', default: '0.5' },
      batch: { type: 'string', default: '1' },
      blend: { type: 'string', default: 'gaussian' },
      'divisible-by': { type: 'string', default: '1' },
      output: { type: 'string', default: 'softmax' },
      threshold: { type: 'string', default: '0.5' },
      'largest-component': { type: 'boolean', default: false },
      resampling: { type: 'string', default: 'probabilities' },
      'axis-order': { type: 'string', default: 'zyx' },
      license: { type: 'string' }
    }
  })
  if (positionals.length !== 1) throw new SegError('BAD_ARGUMENT', 'import-model takes exactly one .onnx file')
  if (!values.labels) throw new SegError('BAD_ARGUMENT', 'missing --labels <labels.json>')
  if (!values.out) throw new SegError('BAD_ARGUMENT', 'missing --out <bundle folder>')
  const normalization = parseNorm(values.norm!)
  const channels = (values.channels ?? 'image:other').split(',').map((c) => {
    const [name, modality = 'other'] = c.split(':')
    if (!name) throw new SegError('BAD_ARGUMENT', `--channels ${values.channels} is not valid; expected name:modality[,name:modality...]`)
    return { name, modality, normalization }
  })
  let geometry: ManifestInput['geometry'] = { mode: 'native' }
  if (values.conform) {
    geometry = {
      mode: 'conform',
      size: numbers('--conform', values.conform, 3) as [number, number, number],
      spacing: numbers('--conform-spacing', values['conform-spacing']!, 3) as [number, number, number],
      orientation: values['conform-orientation']!.toUpperCase(),
      uint8: values['conform-uint8']!,
      centre: centreOption(values['conform-centre']!)
    }
  } else if (values.spacing) {
    geometry = { mode: 'resample', spacing: numbers('--spacing', values.spacing, 3) as [number, number, number], ...(values.orientation ? { orientation: values.orientation.toUpperCase() } : {}) }
  } else if (values.orientation) {
    geometry = { mode: 'reorient', orientation: values.orientation.toUpperCase() }
  }
  let inference: ManifestInput['inference']
  if (values.mode === 'sliding') {
    if (!values.patch) throw new SegError('BAD_ARGUMENT', '--mode sliding needs --patch x,y,z')
    inference = {
      mode: 'sliding-window',
      patchSize: numbers('--patch', values.patch, 3) as [number, number, number],
      overlap: Number(values.overlap),
      batchSize: Number(values.batch),
      blend: values.blend as 'gaussian' | 'constant'
    }
  } else if (values.mode === 'whole') {
    inference = { mode: 'whole', divisibleBy: Number(values['divisible-by']) }
  } else {
    throw new SegError('BAD_ARGUMENT', `--mode ${values.mode} is not valid; expected whole or sliding`)
  }
  const bundle = await importModel({
    onnxPath: positionals[0],
    labelsPath: values.labels,
    out: values.out,
    name: values.name,
    description: values.description,
    channels,
    geometry,
    inference,
    output: {
      kind: values.output as 'softmax' | 'sigmoid',
      threshold: Number(values.threshold),
      largestComponent: values['largest-component']!,
      resampling: resamplingOption(values.resampling!)
    },
    axisOrder: values['axis-order'] as 'zyx' | 'xyz',
    license: values.license
  })
  io.out(`wrote bundle ${path.resolve(bundle.dir)} (${bundle.manifest.output.labels.length} labels, ${bundle.manifest.channels.length} channel(s))`)
  return 0
}
