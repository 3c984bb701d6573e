/**
 * The model bundle manifest: a folder holds `model.onnx` and `manifest.json` validated by this schema.
 * It declares everything the engine needs to run a model without model-specific code:
 * input channels and their normalisation, the geometry the model expects, how to tile the volume,
 * how to read the output, the labels, and where the model came from.
 */
import { z } from 'zod'
import { IntensityNormalizationSchema } from '../volume/intensity'
import { LIMITS, atMost } from '../limits'
import { printableOneLine } from '../../shared/editing/labels'

export const MANIFEST_FILE = 'manifest.json'
export const MODEL_FILE = 'model.onnx'
export const MANIFEST_VERSION = 1

/** Bounds from ../limits.ts, each with a message naming its limit. */
const Spacing = z.number().min(LIMITS.minSpacingMm, `at least ${LIMITS.minSpacingMm} mm (LIMITS.minSpacingMm)`).max(LIMITS.maxSpacingMm, `${atMost('maxSpacingMm')} mm`)
const AxisVoxels = z.number().int().positive().max(LIMITS.axisVoxels, atMost('axisVoxels'))
const Vec3 = z.tuple([Spacing, Spacing, Spacing])

/**
 * A name shows in one-line messages, tables and file names: printable characters on one line.
 * The one definition: the app's argument validation (app-core/validation.ts) takes it from here.
 */
export const Name = z
  .string()
  .min(1)
  .max(LIMITS.nameChars, `${atMost('nameChars')} characters`)
  .refine(printableOneLine, 'printable characters on one line (no control characters)')
const IntVec3 = z.tuple([AxisVoxels, AxisVoxels, AxisVoxels])
/** nibabel-style axis codes: the world direction (RAS terms) each index axis points to, e.g. 'LIA'. */
const AxisCodes = z
  .string()
  .regex(/^(?=.*[LR])(?=.*[PA])(?=.*[IS])[LRPAIS]{3}$/, 'three letters, one of L/R, P/A, I/S each, e.g. RAS or LIA')

export const ChannelSchema = z.object({
  name: Name,
  /** Free text, but use the DICOM-ish family so users can match files: CT, T1, T2, FLAIR, PD, DWI… */
  modality: Name,
  normalization: IntensityNormalizationSchema
})

export const GeometrySchema = z.discriminatedUnion('mode', [
  /** Run on the input's own voxel grid. */
  z.object({ mode: z.literal('native') }),
  /** Permute/flip voxels to the given axis codes (exact, no interpolation). */
  z.object({ mode: z.literal('reorient'), orientation: AxisCodes }),
  /** Optionally reorient, then resample (trilinear) to a target spacing in mm. */
  z.object({ mode: z.literal('resample'), orientation: AxisCodes.optional(), spacing: Vec3 }),
  /** FreeSurfer/NiiVue conform: a fixed grid centred on the input; optional rescale to uint8 0..255. */
  z.object({
    mode: z.literal('conform'),
    orientation: AxisCodes,
    size: IntVec3,
    spacing: Vec3,
    uint8: z.boolean(),
    /**
     * Which input point the grid is centred on: 'world' (the geometric centre, index (size-1)/2; the
     * same mask for any voxel storage order) or 'freesurfer' (FreeSurfer's index size/2, for models
     * trained on mri_convert --conform output, such as MeshNet). See src/engine/volume/conform.ts.
     */
    centre: z.enum(['world', 'freesurfer']).default('world')
  })
])

export const InferenceSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('whole'),
    /** Pad each spatial dim up to a multiple of this (models that downsample k times need 2^k). */
    divisibleBy: z.number().int().positive().max(LIMITS.divisibleBy, atMost('divisibleBy')).default(1)
  }),
  z.object({
    mode: z.literal('sliding-window'),
    patchSize: IntVec3,
    /** Fraction of the patch shared by neighbouring windows, in [0, 1). nnU-Net uses 0.5. */
    overlap: z.number().min(0).max(LIMITS.overlap, atMost('overlap')).default(0.5),
    /** Windows per model call. */
    batchSize: z.number().int().positive().max(LIMITS.batchSize, atMost('batchSize')).default(1),
    /** Importance weighting of each window when blending: gaussian (sigma = sigmaScale × patch) or constant. */
    blend: z.enum(['gaussian', 'constant']).default('gaussian'),
    sigmaScale: z.number().min(LIMITS.minSigmaScale, `at least ${LIMITS.minSigmaScale} (LIMITS.minSigmaScale)`).max(LIMITS.sigmaScale, atMost('sigmaScale')).default(0.125)
  })
])

export const LabelSchema = z.object({
  value: z.number().int().min(0).max(65535),
  name: Name,
  color: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])
})

export const OutputSchema = z.object({
  /**
   * softmax: the output holds one channel per class (logits or probabilities): argmax, class c → labels[c].value.
   * sigmoid: one channel per foreground label: voxel gets labels[c].value of the most probable channel
   * whose sigmoid ≥ threshold, else 0.
   */
  kind: z.enum(['softmax', 'sigmoid']),
  threshold: z.number().gt(0).lt(1).default(0.5),
  labels: z.array(LabelSchema).min(1).max(LIMITS.classes, atMost('classes')),
  /** Keep only the largest 26-connected component of each listed label value (true = all foreground labels). */
  largestComponent: z.union([z.boolean(), z.array(z.number().int().min(0).max(65535)).max(LIMITS.classes, atMost('classes'))]).default(false),
  /**
   * How labels get from the model's grid back onto the input's when they differ (conform, resample):
   * 'probabilities' interpolates the class probabilities trilinearly and decodes at every input voxel
   * (nnU-Net's way; smooth, sub-voxel edges), 'labels' copies the nearest model voxel's label.
   * Applies to softmax outputs with conform/resample geometry; sigmoid outputs and reorientation
   * always use 'labels' (logit-ranked decoding; an exact permutation). A `refinement` then only
   * re-decides voxels these labels gave a refined class, whichever way they came back.
   */
  resampling: z.enum(['probabilities', 'labels']).default('probabilities'),
  /**
   * Optional: re-decide the boundaries between some classes from the input's own intensities, with
   * the model's probabilities as the prior (labelmap/intensity-refinement.ts; softmax outputs only).
   * For a tissue model: the CSF / grey / white split at the input's resolution, any contrast.
   */
  refinement: z
    .object({
      kind: z.literal('intensity-em'),
      /** Label values (of output.labels) whose split is refitted; others, e.g. background, stay the model's. */
      labels: z.array(z.number().int().min(0).max(65535)).min(2).max(LIMITS.classes, atMost('classes')),
      /** Index of the input channel whose intensities are modelled. */
      channel: z.number().int().min(0).max(LIMITS.channels - 1, `at most ${LIMITS.channels - 1} (LIMITS.channels - 1)`).default(0),
      /** Voxels whose probability of the refined labels together is below this keep the model's decision. */
      minProbability: z.number().gt(0).lt(1).default(0.01),
      maxIterations: z.number().int().positive().max(LIMITS.refinementIterations, atMost('refinementIterations')).default(50),
      /** Stop when the relative change in log-likelihood falls to this. */
      tolerance: z.number().positive().default(1e-5),
      /** Degree of the smooth multiplicative bias field fitted alongside (polynomial in position; 0: none). */
      biasFieldOrder: z.number().int().min(0).max(4).default(2)
    })
    .strict()
    .optional()
})

/** A [lowest, highest] pair of a bounded number, lowest first. */
const Range = (value: z.ZodNumber) =>
  z.tuple([value, value]).refine(([lo, hi]) => lo <= hi, 'expected [lowest, highest] with lowest ≤ highest')

/**
 * Optional: the scans the model was made for, checked before a run (pipeline/model-fit.ts) against
 * every input. A modality mismatch is gross (refused unless forced); field of view and voxel size
 * outside their ranges are warnings. Absent: no check.
 */
export const AcceptsSchema = z
  .object({
    /** Modality families: 'CT' (HU-like intensities: air/fat below -200) or 'MRI' (none). */
    modalities: z.array(z.enum(['CT', 'MRI'])).min(1).max(2).optional(),
    /** Extent of the scan along each axis (voxels × spacing), in mm. */
    fieldOfViewMm: Range(z.number().positive().max(LIMITS.fieldOfViewMm, `${atMost('fieldOfViewMm')} mm`)).optional(),
    /** Voxel spacing along each axis, in mm. */
    voxelSizeMm: Range(Spacing).optional(),
    /** Intensities as stored after scaling (HU for CT), e.g. [-1024, 3071]; more than 1 % of voxels outside warns. */
    intensityRange: Range(z.number().min(-LIMITS.intensity, `at least -${LIMITS.intensity} (LIMITS.intensity)`).max(LIMITS.intensity, atMost('intensity'))).optional()
  })
  .strict()

export const ClassificationSchema = z.object({
  /** Name of the ONNX output with [N, K] class logits. */
  output: Name,
  classes: z.array(Name).min(2).max(LIMITS.classes, atMost('classes'))
})

export const ProvenanceEntrySchema = z.object({
  date: z.string(),
  operation: z.string().min(1),
  source: z.string().optional(),
  tool: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional()
})

export const ManifestSchema = z
  .object({
    format: z.literal('segtransfer-bundle'),
    version: z.literal(MANIFEST_VERSION),
    name: Name,
    description: z.string().default(''),
    /**
     * What the model does: 'segmentation' (a voxel-wise `output`, optionally also a `classification`
     * head) or 'classification' (a whole-volume classifier, e.g. a ResNet from the transfer toolkit:
     * `output.labels` then name its classes and it cannot make a label map).
     */
    task: z.enum(['segmentation', 'classification']).default('segmentation'),
    model: z.object({
      file: Name.default(MODEL_FILE),
      input: Name,
      output: Name,
      /**
       * How the voxels fill the tensor's spatial dims [N, C, d0, d1, d2] (C order, d2 fastest).
       * 'zyx': d0=k, d1=j, d2=i — the storage order of NIfTI/ITK (x fastest), no copy.
       * 'xyz': d0=i, d1=j, d2=k — what nibabel's get_fdata() arrays give in PyTorch pipelines.
       */
      axisOrder: z.enum(['zyx', 'xyz']).default('zyx')
    }),
    channels: z.array(ChannelSchema).min(1).max(LIMITS.channels, atMost('channels')),
    geometry: GeometrySchema,
    inference: InferenceSchema,
    output: OutputSchema,
    classification: ClassificationSchema.optional(),
    accepts: AcceptsSchema.optional(),
    /** Architecture facts recorded by the transfer toolkit (family, depth, widths, frozen stages…). */
    architecture: z.record(z.string(), z.unknown()).optional(),
    provenance: z.array(ProvenanceEntrySchema).default([]),
    license: z.string().optional()
  })
  .strict()

export type Manifest = z.infer<typeof ManifestSchema>
export type ManifestInput = z.input<typeof ManifestSchema>
export type Geometry = z.infer<typeof GeometrySchema>
export type InferenceSettings = z.infer<typeof InferenceSchema>
export type SlidingWindowSettings = Extract<InferenceSettings, { mode: 'sliding-window' }>
export type OutputSettings = z.infer<typeof OutputSchema>
export type RefinementSettings = NonNullable<OutputSettings['refinement']>
export type Accepts = z.infer<typeof AcceptsSchema>
export type LabelInfo = z.infer<typeof LabelSchema>
export type ProvenanceEntry = z.infer<typeof ProvenanceEntrySchema>
