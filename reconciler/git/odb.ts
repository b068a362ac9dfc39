// A small, fast object database over a repository's .git/objects: loose objects and pack files
// (index v2, offset and ref deltas; the format is pack.ts's), read with Node's native zlib and
// positioned reads, written as loose objects the way native git writes them (temp file, then
// rename). isomorphic-git reads each object with a JavaScript inflate and a directory scan (about
// 1 ms per object in a 10,000-file repository); this reads one in a few microseconds, which is
// what lets the cost of a reconcile follow the change. Objects borrowed through
// objects/info/alternates (a clone made with --shared or --reference) are read from the stores
// named there, as git does. A pack with a version 1 index (git has written version 2 by default
// for many years) is not read: an object missing because of one says so, and `git repack -a -d`
// rewrites it.
import { closeSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { idsWithPrefix, offsetAt, openPack, positionOf, readEntry, type ObjectType, type Pack, type RawObject } from './pack.js';
import type { Repo } from './repo-handle.js';

export type { ObjectType, RawObject } from './pack.js';

/** Resolved objects kept for delta bases and repeated tree reads, bounded by bytes. */
class Lru {
  private map = new Map<string, RawObject>();
  private bytes = 0;
  constructor(private readonly limit: number) {}
  get(k: string): RawObject | undefined {
    const v = this.map.get(k);
    if (v) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: RawObject): void {
    if (v.body.length > this.limit / 4 || this.map.has(k)) return;
    this.map.set(k, v);
    this.bytes += v.body.length;
    while (this.bytes > this.limit) {
      const [old, o] = this.map.entries().next().value as [string, RawObject];
      this.map.delete(old);
      this.bytes -= o.body.length;
    }
  }
}

export class ObjectStore {
  private packs: Pack[] = [];
  private scanned = false;
  /** Stores named in objects/info/alternates (searched after this one). */
  private alternates: ObjectStore[] = [];
  /** Packs with a version 1 index, left unread: named when an object is not found. */
  private unread: string[] = [];
  private readonly cache = new Lru(64 * 1024 * 1024);

  /** `objects`: the objects directory (default: the repository's); `depth`: how many alternates deep. */
  constructor(
    private readonly repo: Repo,
    readonly objects = path.join(repo.gitdir, 'objects'),
    private readonly depth = 0,
  ) {}

  /** The object, or undefined when the repository does not have it. */
  async read(oid: string): Promise<RawObject | undefined> {
    return this.readSync(oid);
  }

  /** Every object whose id starts with `prefix` (4 to 40 hex digits), from packs, loose objects and alternates, sorted. */
  async expand(prefix: string): Promise<string[]> {
    if (!/^[0-9a-f]{4,40}$/.test(prefix)) throw new Error(`${prefix} is not an abbreviated object id (4 to 40 hex digits)`);
    const found = new Set<string>();
    this.expandInto(prefix, found);
    return [...found].sort();
  }

  private expandInto(prefix: string, found: Set<string>): void {
    this.scan();
    for (const p of this.packs) for (const oid of idsWithPrefix(p, prefix)) found.add(oid);
    try {
      for (const n of readdirSync(path.join(this.objects, prefix.slice(0, 2)))) {
        const oid = prefix.slice(0, 2) + n;
        if (/^[0-9a-f]{40}$/.test(oid) && oid.startsWith(prefix)) found.add(oid);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const a of this.alternates) a.expandInto(prefix, found);
  }

  async readType(oid: string, type: ObjectType): Promise<Buffer> {
    const o = await this.read(oid);
    if (!o) {
      const unread = this.unreadPacks();
      const why = unread.length
        ? ` (${unread.join(', ')} ${unread.length > 1 ? 'have' : 'has'} a version 1 index, which canopy does not read: run git repack -a -d)`
        : '';
      throw Object.assign(new Error(`object ${oid} not found in ${this.objects}${why}`), { code: 'NotFoundError' });
    }
    if (o.type !== type) throw Object.assign(new Error(`object ${oid} is a ${o.type}, not a ${type}`), { code: 'ObjectTypeError' });
    return o.body;
  }

  private unreadPacks(): string[] {
    return [...this.unread.map((n) => path.join(this.objects, 'pack', n)), ...this.alternates.flatMap((a) => a.unreadPacks())];
  }

  /** Synchronous read from packs and loose objects; undefined when not found here. */
  readSync(oid: string): RawObject | undefined {
    const hit = this.cache.get(oid);
    if (hit) return hit;
    if (!this.scanned) this.scan();
    let o = this.fromPacks(oid) ?? this.loose(oid);
    if (!o) {
      // A pack written since the last scan (a fetch, a gc): look again, once.
      this.scan();
      o = this.fromPacks(oid) ?? this.loose(oid);
    }
    if (!o) for (const a of this.alternates) if ((o = a.readSync(oid))) break;
    if (o && o.type === 'tree') this.cache.set(oid, o);
    return o;
  }

  has(oid: string): boolean {
    if (!this.scanned) this.scan();
    if (this.packs.some((p) => positionOf(p, oid) >= 0)) return true;
    return existsSync(path.join(this.objects, oid.slice(0, 2), oid.slice(2))) || this.alternates.some((a) => a.has(oid));
  }

  /** Write an object as a loose object (zlib level 1, as native git's core.looseCompression). */
  async write(type: ObjectType, body: Buffer): Promise<string> {
    return this.writeSync(type, body);
  }

  writeSync(type: ObjectType, body: Buffer): string {
    const header = Buffer.from(`${type} ${body.length}\0`);
    const oid = createHash('sha1').update(header).update(body).digest('hex');
    // Skipped only when the object is on disk now: a gc (ours or anyone's) may have dropped an
    // unreachable object from a pack this process still holds open, or from the cache; a ref
    // pointing at it would then be a ref to nothing for every other reader.
    if (this.onDisk(oid)) return oid;
    const dir = path.join(this.objects, oid.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`);
    writeFileSync(tmp, deflateSync(Buffer.concat([header, body]), { level: 1 }), { mode: 0o444 });
    renameSync(tmp, path.join(dir, oid.slice(2)));
    if (type === 'tree') this.cache.set(oid, { type, body });
    return oid;
  }

  /** On disk in this store now (loose, or in a pack whose file still exists), or in an alternate. */
  private onDisk(oid: string): boolean {
    if (existsSync(path.join(this.objects, oid.slice(0, 2), oid.slice(2)))) return true;
    // The pack directory changed since the last scan (a fetch, a gc): scan again first.
    const dir = path.join(this.objects, 'pack');
    let mtime = 0;
    try {
      mtime = statSync(dir).mtimeMs;
    } catch {
      /* no packs */
    }
    if (!this.scanned || mtime !== this.packDirMtime) this.scan();
    for (const p of this.packs) {
      if (positionOf(p, oid) >= 0 && existsSync(path.join(dir, p.name.replace(/\.idx$/, '.pack')))) return true;
    }
    return this.alternates.some((a) => a.has(oid));
  }

  private packDirMtime = -1;

  private scan(): void {
    this.scanned = true;
    const dir = path.join(this.objects, 'pack');
    try {
      this.packDirMtime = statSync(dir).mtimeMs;
    } catch {
      this.packDirMtime = 0;
    }
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.idx'));
    } catch {
      names = [];
    }
    const keep: Pack[] = [];
    const unread: string[] = [];
    this.alternates = this.readAlternates();
    for (const p of this.packs) {
      if (names.includes(p.name)) keep.push(p);
      else closeSync(p.fd);
    }
    for (const name of names) {
      if (keep.some((p) => p.name === name)) continue;
      try {
        const p = openPack(dir, name);
        if (p === 'v1') unread.push(name);
        else keep.push(p);
      } catch {
        /* a pack being written or removed: the next scan sees it settled */
      }
    }
    // Newest first, as git searches them: recent objects (what a reconcile reads) are there.
    this.packs = keep.sort((a, b) => b.mtime - a.mtime);
    this.unread = unread;
  }

  /** The stores objects/info/alternates names (paths absolute or relative to this objects directory), as git reads it. */
  private readAlternates(): ObjectStore[] {
    let text: string;
    try {
      text = readFileSync(path.join(this.objects, 'info', 'alternates'), 'utf8');
    } catch {
      return [];
    }
    if (this.depth >= 5) throw new Error(`${path.join(this.objects, 'info', 'alternates')}: alternates nest deeper than 5 (git's limit)`);
    const dirs = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => path.resolve(this.objects, l));
    return dirs.map((d) => this.alternates.find((a) => a.objects === d) ?? new ObjectStore(this.repo, d, this.depth + 1));
  }

  private fromPacks(oid: string): RawObject | undefined {
    for (const p of this.packs) {
      const i = positionOf(p, oid);
      if (i >= 0) return this.atOffset(p, offsetAt(p, i));
    }
    return undefined;
  }

  private atOffset(p: Pack, offset: number, asBase = false): RawObject | undefined {
    const key = `${p.name}@${offset}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out = readEntry(
      p,
      offset,
      (base) => this.atOffset(p, base, true),
      (oid) => this.readSync(oid),
    );
    // Keep delta bases and trees: both are read again soon.
    if (out && (asBase || out.type !== 'blob')) this.cache.set(key, out);
    return out;
  }

  private loose(oid: string): RawObject | undefined {
    let raw: Buffer;
    try {
      raw = inflateSync(readFileSync(path.join(this.objects, oid.slice(0, 2), oid.slice(2))));
    } catch {
      return undefined;
    }
    const sp = raw.indexOf(0x20);
    const nul = raw.indexOf(0, sp);
    const type = raw.toString('latin1', 0, sp) as ObjectType;
    return { type, body: raw.subarray(nul + 1) };
  }
}

const stores = new WeakMap<Repo, ObjectStore>();

/** The object store of a repository (one per Repo value). */
export function objectStore(repo: Repo): ObjectStore {
  let s = stores.get(repo);
  if (!s) stores.set(repo, (s = new ObjectStore(repo)));
  return s;
}
