/**
 * The 3D view's three.js scene: one mesh per label in LPS world millimetres, the volume's bounding
 * box, the three slice planes (render/planes.ts), orbit controls, and a camera looking from the
 * patient's front (a little from above and the left) with Superior up, so patient Left is on screen
 * right, as in the coronal view. Owns every GPU resource it creates and frees them in dispose();
 * setMeshes() replaces (and disposes) the previous meshes, planes.setVolume() the previous planes.
 */
import {
  AmbientLight, Box3, BoxGeometry, BufferAttribute, BufferGeometry, Color, DirectionalLight, DoubleSide, EdgesGeometry,
  Group, LineBasicMaterial, LineSegments, Matrix4, Mesh, MeshPhongMaterial, PerspectiveCamera, Scene, Vector3, WebGLRenderer
} from 'three'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import type { GridInfo } from '../../../shared/contract'
import { centerOf, linearOf } from '../geometry/space'
import { SlicePlanes } from '../render/planes'

/** One label's surface in LPS mm, with its colour (0..255). */
export interface LabelMesh {
  value: number
  positions: Float32Array
  indices: Uint32Array
  normals?: Float32Array
  color: readonly number[]
}

export class LabelScene {
  private readonly renderer: WebGLRenderer
  private readonly scene = new Scene()
  private readonly camera = new PerspectiveCamera(35, 1, 1, 10_000)
  private readonly controls: OrbitControls
  private readonly meshes = new Group()
  readonly planes = new SlicePlanes()
  private box: LineSegments | undefined
  private frame = 0

  constructor(canvas: HTMLCanvasElement) {
    this.renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true })
    this.renderer.setClearColor(0x0d0e10)
    this.camera.up.set(0, 0, 1) // LPS +z is Superior
    this.scene.add(new AmbientLight(0xffffff, 0.45))
    const key = new DirectionalLight(0xffffff, 1.6)
    this.camera.add(key)
    key.position.set(0.3, 0.5, 1)
    this.scene.add(this.camera, this.meshes, this.planes.group)
    this.controls = new OrbitControls(this.camera, canvas)
    this.controls.addEventListener('change', this.requestRender)
  }

  readonly requestRender = (): void => {
    if (!this.frame) this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.renderer.render(this.scene, this.camera)
    })
  }

  resize(width: number, height: number): void {
    this.renderer.setSize(width, height, false)
    this.camera.aspect = width / Math.max(height, 1)
    this.camera.updateProjectionMatrix()
    this.requestRender()
  }

  /** Frames a volume: its oriented bounding box, and the camera in front of the patient. */
  frameVolume(grid: GridInfo): void {
    if (this.box) {
      this.scene.remove(this.box)
      this.box.geometry.dispose()
      ;(this.box.material as LineBasicMaterial).dispose()
    }
    const lin = linearOf(grid)
    const c = centerOf(grid)
    const geo = new EdgesGeometry(new BoxGeometry(grid.size[0], grid.size[1], grid.size[2]))
    // Box in index units centred at 0 → world: linear part, then the volume centre.
    const m = new Matrix4().set(lin[0], lin[1], lin[2], c[0], lin[3], lin[4], lin[5], c[1], lin[6], lin[7], lin[8], c[2], 0, 0, 0, 1)
    geo.applyMatrix4(m)
    this.box = new LineSegments(geo, new LineBasicMaterial({ color: 0x3a4250 }))
    this.scene.add(this.box)
    const size = new Box3().setFromObject(this.box).getSize(new Vector3()).length()
    const target = new Vector3(c[0], c[1], c[2])
    this.controls.target.copy(target)
    // From the front (Anterior is −y in LPS), a little from above and from the patient's left, so the
    // axial and sagittal slice planes are not seen edge-on.
    this.camera.position.copy(target).add(new Vector3(0.45, -1, 0.35).normalize().multiplyScalar(1.6 * size))
    this.camera.near = size / 100
    this.camera.far = size * 10
    this.camera.updateProjectionMatrix()
    this.controls.update()
    this.requestRender()
  }

  /** Replaces the label meshes. */
  setMeshes(items: LabelMesh[]): void {
    this.clearMeshes()
    this.addMeshes(items)
  }

  /** Replaces the meshes of the labels `values` only (a label with no item loses its mesh); the others stay. */
  replaceMeshes(values: readonly number[], items: LabelMesh[]): void {
    this.clearMeshes((m) => values.includes(m.userData.value as number))
    this.addMeshes(items)
  }

  /** Recolours the meshes in place (a label's colour changed). */
  setColors(colorOf: (value: number) => readonly number[]): void {
    for (const m of this.meshes.children as Mesh[]) {
      const c = colorOf(m.userData.value as number)
      ;(m.material as MeshPhongMaterial).color.setRGB(c[0] / 255, c[1] / 255, c[2] / 255)
    }
    this.requestRender()
  }

  private addMeshes(items: LabelMesh[]): void {
    for (const it of items) {
      const g = new BufferGeometry()
      g.setAttribute('position', new BufferAttribute(it.positions, 3))
      g.setIndex(new BufferAttribute(it.indices, 1))
      if (it.normals) g.setAttribute('normal', new BufferAttribute(it.normals, 3))
      else g.computeVertexNormals()
      const mat = new MeshPhongMaterial({ color: new Color(it.color[0] / 255, it.color[1] / 255, it.color[2] / 255), side: DoubleSide, shininess: 30 })
      const mesh = new Mesh(g, mat)
      mesh.userData.value = it.value
      this.meshes.add(mesh)
    }
    this.requestRender()
  }

  setHidden(hidden: readonly number[]): void {
    for (const m of this.meshes.children) m.visible = !hidden.includes(m.userData.value as number)
    this.requestRender()
  }

  private clearMeshes(which: (m: Mesh) => boolean = () => true): void {
    for (const m of ([...this.meshes.children] as Mesh[]).filter(which)) {
      this.meshes.remove(m)
      m.geometry.dispose()
      ;(m.material as MeshPhongMaterial).dispose()
    }
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame)
    this.controls.removeEventListener('change', this.requestRender)
    this.controls.dispose()
    this.clearMeshes()
    this.planes.dispose()
    if (this.box) {
      this.box.geometry.dispose()
      ;(this.box.material as LineBasicMaterial).dispose()
    }
    this.renderer.dispose()
  }
}
