import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
function gen(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 255; return b }
async function cid(bytes, v1) {
  const bs = new MemoryBlockstore()
  const opts = v1 ? { cidVersion: 1, rawLeaves: true } : { cidVersion: 0, rawLeaves: false }
  let last
  for await (const e of importer([{ content: (async function*(){ for (let o=0;o<bytes.length;o+=1<<20) yield bytes.subarray(o, Math.min(o+(1<<20), bytes.length)) })() }], bs, { ...opts, chunker: fixedSize({chunkSize: 262144}), layout: balanced({maxChildrenPerNode: 174}), reduceSingleLeafToSelf: true, leafType: 'file' })) last = e
  return last.cid.toString()
}
const te = new TextEncoder()
const cases = [["empty", new Uint8Array(0)], ["hello world\\n", te.encode("hello world\n")]]
for (const n of [1, 1000, 262143, 262144, 262145, 524288, 3*1048576+17, 174*262144, 174*262144+1]) cases.push([`gen:${n}`, gen(n)])
const out = []
for (const [name, b] of cases) out.push({ name, size: b.length, cid_v0: await cid(b, false), cid_v1_raw: await cid(b, true) })
console.log(JSON.stringify(out, null, 2))
