// Pack files as git writes them: the index (version 2) searched in place, the pack read with
// positioned reads (or held whole when small), each entry inflated with Node's native zlib and
// offset and ref deltas applied. Which packs there are, the search order among packs, loose
// objects and alternates, and what is cached are the object store's (odb.ts).
import { fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export interface RawObject {
  type: ObjectType;
  body: Buffer;
}

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

export interface Pack {
  name: string;
  fd: number;
  idx: Buffer;
  count: number;
  /** Every entry's offset, sorted: an entry ends where the next one starts. */
  ends?: Float64Array;
  dataEnd: number;
  mtime: number;
  /** The whole pack, for packs small enough to hold (one read instead of one per object). */
  data?: Buffer;
}

const HOLD_PACK_BYTES = 32 * 1024 * 1024;

/**
 * The pack whose index is `dir/name` (and whose data is the .pack beside it), or 'v1' when the
 * index is not version 2 (left unread). Throws when either file cannot be read.
 */
export function openPack(dir: string, name: string): Pack | 'v1' {
  const idx = readFileSync(path.join(dir, name));
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return 'v1';
  const fd = openSync(path.join(dir, name.replace(/\.idx$/, '.pack')), 'r');
  const st = fstatSync(fd);
  return { name, fd, idx, count: idx.readUInt32BE(8 + 255 * 4), dataEnd: st.size - 20, mtime: st.mtimeMs };
}

/** Ids in the pack's index that start with `prefix` (hex). */
export function idsWithPrefix(p: Pack, prefix: string): string[] {
  const first = parseInt(prefix.slice(0, 2), 16);
  let lo = first === 0 ? 0 : p.idx.readUInt32BE(8 + (first - 1) * 4);
  let hi = p.idx.readUInt32BE(8 + first * 4);
  const base = 8 + 256 * 4;
  const at = (i: number) => p.idx.toString('hex', base + i * 20, base + i * 20 + 20);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(mid) < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: string[] = [];
  for (let i = lo; i < p.count && at(i).startsWith(prefix); i++) out.push(at(i));
  return out;
}

/** Position of `oid` in the pack's index, or -1. */
export function positionOf(p: Pack, oid: string): number {
  const key = Buffer.from(oid, 'hex');
  if (key.length !== 20) return -1;
  const first = key[0];
  let lo = first === 0 ? 0 : p.idx.readUInt32BE(8 + (first - 1) * 4);
  let hi = p.idx.readUInt32BE(8 + first * 4);
  const base = 8 + 256 * 4;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = p.idx.compare(key, 0, 20, base + mid * 20, base + mid * 20 + 20); // entry vs key
    if (c === 0) return mid;
    if (c > 0) hi = mid;
    else lo = mid + 1;
  }
  return -1;
}

/** Offset in the pack of the entry at position `i` of the index. */
export function offsetAt(p: Pack, i: number): number {
  const base = 8 + 256 * 4 + p.count * 24;
  const off = p.idx.readUInt32BE(base + i * 4);
  if (!(off & 0x80000000)) return off;
  const large = base + p.count * 4 + (off & 0x7fffffff) * 8;
  return Number(p.idx.readBigUInt64BE(large));
}

function endOf(p: Pack, offset: number): number {
  if (!p.ends) {
    const ends = new Float64Array(p.count);
    for (let i = 0; i < p.count; i++) ends[i] = offsetAt(p, i);
    ends.sort();
    p.ends = ends;
  }
  let lo = 0,
    hi = p.ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.ends[mid] <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < p.ends.length ? p.ends[lo] : p.dataEnd;
}

/**
 * The object stored at `offset`, a delta applied to its base: an offset delta's base is read
 * with `baseAt` (an offset in this pack), a ref delta's with `baseOf` (an oid, from anywhere);
 * undefined when the base is not found.
 */
export function readEntry(
  p: Pack,
  offset: number,
  baseAt: (offset: number) => RawObject | undefined,
  baseOf: (oid: string) => RawObject | undefined,
): RawObject | undefined {
  const end = endOf(p, offset);
  if (!p.data && p.dataEnd <= HOLD_PACK_BYTES) {
    p.data = Buffer.allocUnsafe(p.dataEnd);
    readSync(p.fd, p.data, 0, p.dataEnd, 0);
  }
  let buf: Buffer;
  if (p.data) buf = p.data.subarray(offset, end);
  else {
    buf = Buffer.allocUnsafe(end - offset);
    readSync(p.fd, buf, 0, buf.length, offset);
  }
  let i = 0;
  let c = buf[i++];
  const type = (c >> 4) & 7;
  let size = c & 0x0f;
  for (let shift = 4; c & 0x80; shift += 7) {
    c = buf[i++];
    size += (c & 0x7f) * 2 ** shift;
  }
  // Inflate into one buffer of the known size, not zlib's default 16 KiB chunks.
  const inflate = (b: Buffer) => inflateSync(b, { chunkSize: Math.max(64, size + 64) });
  if (type === OFS_DELTA) {
    c = buf[i++];
    let back = c & 0x7f;
    while (c & 0x80) {
      c = buf[i++];
      back = (back + 1) * 128 + (c & 0x7f);
    }
    const base = baseAt(offset - back);
    return base ? { type: base.type, body: applyDelta(base.body, inflate(buf.subarray(i))) } : undefined;
  }
  if (type === REF_DELTA) {
    const base = baseOf(buf.toString('hex', i, i + 20));
    return base ? { type: base.type, body: applyDelta(base.body, inflate(buf.subarray(i + 20))) } : undefined;
  }
  return TYPES[type] ? { type: TYPES[type], body: inflate(buf.subarray(i)) } : undefined;
}

function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let i = 0;
  const varint = () => {
    let n = 0,
      shift = 0,
      c: number;
    do {
      c = delta[i++];
      n += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return n;
  };
  varint(); // base size
  const out = Buffer.allocUnsafe(varint());
  let o = 0;
  while (i < delta.length) {
    const op = delta[i++];
    if (op & 0x80) {
      let off = 0,
        size = 0;
      if (op & 0x01) off |= delta[i++];
      if (op & 0x02) off |= delta[i++] << 8;
      if (op & 0x04) off |= delta[i++] << 16;
      if (op & 0x08) off = (off + delta[i++] * 0x1000000) >>> 0;
      if (op & 0x10) size |= delta[i++];
      if (op & 0x20) size |= delta[i++] << 8;
      if (op & 0x40) size |= delta[i++] << 16;
      if (size === 0) size = 0x10000;
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op) {
      delta.copy(out, o, i, i + op);
      i += op;
      o += op;
    } else throw new Error('bad delta: opcode 0');
  }
  return out;
}
