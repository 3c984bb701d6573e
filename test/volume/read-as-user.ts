// Reads argv[3] with readVolume as user id argv[2] (root drops its rights first) and prints the
// outcome as JSON: lets a test run as root see what an ordinary user sees on an unreadable file.
const [uid, path] = [Number(process.argv[2]), process.argv[3]]
process.setgid!(uid)
process.setuid!(uid)
const { readVolume } = await import('../../src/engine/volume/read')
try {
  const v = await readVolume(path)
  console.log(JSON.stringify({ kind: 'ok', size: v.size }))
} catch (e) {
  const err = e as { code?: string; message?: string }
  console.log(JSON.stringify({ kind: err.code === undefined ? 'raw' : 'refused', code: err.code, message: err.message ?? String(e) }))
}

export {}
