/**
 * Which volume of a 4D file (DWI, multi-echo, fMRI) to read: the user chooses one; without a choice
 * a file with several volumes is refused with the list, never silently reduced to its first volume.
 */
import { SegError } from '../errors'

/**
 * The 0-based index of the volume to read.
 * @param count volumes in the file (the product of the sizes beyond the 3rd axis; 5D+ flattened).
 * @param chosen the user's choice, or undefined.
 * @throws SegError BAD_DIMENSION when several volumes and no choice, or a choice outside 0..count-1.
 */
export function chosenVolume(name: string, count: number, chosen: number | undefined): number {
  if (chosen === undefined) {
    if (count === 1) return 0
    throw new SegError('BAD_DIMENSION', `${name} has ${count} volumes; choose one with --volume 0..${count - 1}`)
  }
  if (!(Number.isInteger(chosen) && chosen >= 0 && chosen < count)) {
    throw new SegError('BAD_DIMENSION', `volume ${chosen} does not exist in ${name}; expected 0..${count - 1} (it has ${count} volume${count === 1 ? '' : 's'})`)
  }
  return chosen
}
