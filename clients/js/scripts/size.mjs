// Reports the client's size, gzipped (node:zlib, level 9), without any
// dependency, for each entry point apart:
//   core:  index.js and what it imports (src/*.js but src/proto.js): what
//          every user loads
//   proto: proto.js and src/proto.js, the Protobuf codec
//          (wsgate-client/proto), loaded only by its users on top of core
// and for each:
//   raw:      the files concatenated, as shipped
//   stripped: the same without comments, indentation or blank lines (a
//             crude stand-in for minification: no renaming, no rewriting)
//   min:      esbuild --bundle --minify, only when the esbuild package
//             happens to be resolvable from here (it is not a dependency;
//             e.g. `npm i --no-save esbuild && npm run size`), or from the
//             path in $ESBUILD (its package directory or main file)
// Target: core under 8 KB minified and gzipped.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join, relative } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const src = readdirSync(join(root, 'src')).filter((f) => f.endsWith('.js')).sort().map((f) => 'src/' + f)
const entries = {
  core: { entry: 'index.js', files: ['index.js', ...src.filter((f) => f !== 'src/proto.js')] },
  proto: { entry: 'proto.js', files: ['proto.js', 'src/proto.js'] },
}

// Removes // and /* */ comments outside strings and template literals, then
// leading whitespace and blank lines (newlines are kept, so ASI is
// unchanged). Assumes no regular expression literal contains a quote or a
// comment opener, which holds for these sources.
function strip(src) {
  let out = ''
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1
      out += src.slice(i, j + 1)
      i = j
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++
      out += '\n'
    } else if (c === '/' && src[i + 1] === '*') {
      i = src.indexOf('*/', i + 2) + 1
    } else {
      out += c
    }
  }
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n')
}

const kb = (n) => (n / 1024).toFixed(2) + ' KiB'
const gz = (s) => gzipSync(Buffer.from(s), { level: 9 }).length

let esbuild
try {
  esbuild = await import(process.env.ESBUILD ? pathToFileURL(resolveEsbuild(process.env.ESBUILD)).href : 'esbuild')
  esbuild = esbuild.build ? esbuild : esbuild.default
} catch {
  esbuild = undefined
}

function resolveEsbuild(p) {
  if (!statSync(p).isDirectory()) return p
  const pkg = JSON.parse(readFileSync(join(p, 'package.json'), 'utf8'))
  return join(p, pkg.main || 'lib/main.js')
}

for (const [name, { entry, files }] of Object.entries(entries)) {
  const raw = files.map((f) => readFileSync(join(root, f), 'utf8')).join('\n')
  const stripped = strip(raw)
  console.log(`${name}: ${files.join(', ')}`)
  console.log(`  raw:      ${kb(Buffer.byteLength(raw))}, gzip ${kb(gz(raw))} (unminified)`)
  console.log(`  stripped: ${kb(Buffer.byteLength(stripped))}, gzip ${kb(gz(stripped))} (comments and indentation removed, not minified)`)
  if (!esbuild) {
    console.log('  min:      esbuild not found: the figures above are unminified upper bounds')
    continue
  }
  const r = await esbuild.build({ entryPoints: [join(root, entry)], bundle: true, minify: true, format: 'esm', write: false, metafile: true })
  const min = r.outputFiles[0].contents
  const inputs = Object.keys(r.metafile.inputs).map((f) => relative(root, f)).sort()
  if (inputs.join() !== [...files].sort().join()) console.log(`  (bundled: ${inputs.join(', ')})`)
  console.log(`  min:      ${kb(min.length)}, gzip ${kb(gzipSync(min, { level: 9 }).length)} (esbuild --bundle --minify)`)
}
