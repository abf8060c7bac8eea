// Builds the page into dist/ (or the folder given): `npm run build`. The built files are
// committed, so that `pip install .` serves the page with no Node.js on the machine; a
// test rebuilds them elsewhere and checks that they are the same.
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'

const here = new URL('.', import.meta.url).pathname
const out = process.argv[2] ?? `${here}dist`
await mkdir(out, { recursive: true })
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  outfile: `${out}/app.js`,
  legalComments: 'none',
  logLevel: 'warning'
})
await copyFile(`${here}src/index.html`, `${out}/index.html`)
await copyFile(`${here}src/app.css`, `${out}/app.css`)
