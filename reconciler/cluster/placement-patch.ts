// A placement patch from the root, applied and checked at the cost of what it changes: the
// common patch replaces whole service entries and the version, so only those values are
// checked against their schemas; any other patch (a valid RFC 6902 patch may touch anything)
// has the whole patched placement checked.
import type { Operation } from 'fast-json-patch';
import type { Placement } from '../../schemas/messages.js';
import { checkValue, type Parsed } from '../../schemas/parse.js';
import { applyPatchShared } from '../core/patch.js';

const SERVICE = /^\/services\/[^/]+$/;

export function applyPlacementPatch(placement: Placement, ops: readonly Operation[], where: string): Parsed<Placement> {
  let doc: Placement;
  try {
    doc = applyPatchShared(placement, ops);
  } catch (e) {
    return { ok: false, error: `${where}: patch does not apply: ${(e as Error).message}` };
  }
  const local = ops.every((op) => (SERVICE.test(op.path) && (op.op === 'remove' || op.op === 'add' || op.op === 'replace')) || (op.path === '/version' && op.op === 'replace'));
  if (!local) return checkValue('Placement', doc, `${where} (patched)`);
  for (const op of ops) {
    if (op.op === 'remove') continue;
    const value = (op as { value?: unknown }).value;
    const c = op.path === '/version' ? checkValue('Version', value, `${where} (patched): /version`) : checkValue('Assignment', value, `${where} (patched): ${op.path}`);
    if (!c.ok) return c;
  }
  return { ok: true, value: doc };
}
