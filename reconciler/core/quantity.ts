// Resource quantities: memory and storage as written in descriptors ("128Mi", "1Gi", 5e8),
// normalised to MiB so every level compares the same numbers.
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Bytes of a quantity; throws on a malformed one (the schema has already rejected those). */
export function bytes(q: number | string | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  return Number(m[1]) * UNITS[m[2] ?? ''];
}

export function mebibytes(q: number | string | undefined): number {
  return bytes(q) / 1024 ** 2;
}
