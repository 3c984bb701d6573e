/** PNG encoding of an RGB image through pngjs (a small, widely used pure-JS codec: no native build). */
import { PNG } from 'pngjs'
import type { RgbImage } from './thumbnail'

/** The PNG file bytes of an 8-bit RGB image. */
export function encodePng(image: RgbImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: 2, inputColorType: 2, inputHasAlpha: false })
  png.data = Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength)
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false })
}
