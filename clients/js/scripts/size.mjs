// Reports the client's size, gzipped (node:zlib, level 9), without any
// dependency:
//   raw:      index.js and src/*.js concatenated, as shipped
//   stripped: the same without comments, indentation or blank lines (a
//             crude stand-in for minification: no renaming, no rewriting)
//   min:      esbuild --bundle --minify, only when the esbuild package
//             happens to be resolvable from here (it is not a dependency);
//             e.g. `npm i --no-save esbuild && npm run size`
// Target: under 8 KB minified and gzipped.
import { readFileSync, readdirSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const files = ['index.js', ...readdirSync(join(root, 'src')).filter((f) => f.endsWith('.js')).sort().map((f) => 'src/' + f)]
const raw = files.map((f) => readFileSync(join(root, f), 'utf8')).join('\n')

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
const stripped = strip(raw)
console.log(`files: ${files.join(', ')}`)
console.log(`raw:      ${kb(Buffer.byteLength(raw))}, gzip ${kb(gz(raw))} (unminified)`)
console.log(`stripped: ${kb(Buffer.byteLength(stripped))}, gzip ${kb(gz(stripped))} (comments and indentation removed, not minified)`)

let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.log('min:      esbuild not found: the figures above are unminified upper bounds')
}
if (esbuild) {
  const r = await esbuild.build({ entryPoints: [join(root, 'index.js')], bundle: true, minify: true, format: 'esm', write: false })
  const min = r.outputFiles[0].contents
  console.log(`min:      ${kb(min.length)}, gzip ${kb(gzipSync(min, { level: 9 }).length)} (esbuild --bundle --minify)`)
}
