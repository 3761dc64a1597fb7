// Test oracle: reads JSON lines [a, b] from stdin and prints, per line, a JSON array
// [validA, validB, cmp] where cmp is node-semver's strict compare(a, b) or null.
// argv[2] is the path of the node-semver package to require.
'use strict'
const semver = require(process.argv[2])
const readline = require('readline')
const rl = readline.createInterface({ input: process.stdin })
const out = []
rl.on('line', (line) => {
  const [a, b] = JSON.parse(line)
  const pa = semver.parse(a)
  const pb = semver.parse(b)
  out.push(JSON.stringify([pa !== null, pb !== null, pa && pb ? pa.compare(pb) : null]))
})
rl.on('close', () => { process.stdout.write(out.join('\n') + (out.length ? '\n' : '')) })
