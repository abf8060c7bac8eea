// Builds the page into dist/: `npm run build` (the built files are committed, so that
// `pip install .` serves the page with no Node.js on the machine).
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'

const here = new URL('.', import.meta.url).pathname
await mkdir(`${here}dist`, { recursive: true })
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  outfile: `${here}dist/app.js`,
  legalComments: 'none',
  logLevel: 'warning'
})
await copyFile(`${here}src/index.html`, `${here}dist/index.html`)
await copyFile(`${here}src/app.css`, `${here}dist/app.css`)
