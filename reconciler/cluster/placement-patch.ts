// A placement patch from the root, applied and checked at the cost of what it changes: the
// common patch touches service entries and the version, so only the entries it touched and the
// version are checked against their schemas; any other patch (a valid RFC 6902 patch may touch
// anything) has the whole patched placement checked.
import type { Operation } from 'fast-json-patch';
import type { Placement } from '../../schemas/messages.js';
import { checkValue, type Parsed } from '../../schemas/parse.js';
import { applyPatchShared } from '../core/patch.js';

const IN_SERVICE = /^\/services\/([^/]+)(\/.*)?$/;

export function applyPlacementPatch(placement: Placement, ops: readonly Operation[], where: string): Parsed<Placement> {
  let doc: Placement;
  try {
    doc = applyPatchShared(placement, ops);
  } catch (e) {
    // fast-json-patch's message goes on to dump the operation and the whole document: its first line says it.
    return { ok: false, error: `${where}: patch does not apply: ${(e as Error).message.split('\n')[0]}` };
  }
  // Ops inside service entries and on the version: check the entries they touched, and the version.
  const touched = new Set<string>();
  let version = false;
  for (const op of ops) {
    const m = IN_SERVICE.exec(op.path);
    const from = (op as { from?: string }).from;
    if (m && ((op.op !== 'move' && op.op !== 'copy') || (from !== undefined && IN_SERVICE.test(from))))
      touched.add(m[1].replace(/~1/g, '/').replace(/~0/g, '~'));
    else if (op.path === '/version' && op.op === 'replace') version = true;
    else return checkValue('Placement', doc, `${where} (patched)`);
  }
  if (version) {
    const c = checkValue('Version', doc.version, `${where} (patched): /version`);
    if (!c.ok) return c;
  }
  for (const id of touched) {
    const entry = doc.services?.[id];
    if (entry === undefined) continue; // removed
    const c = checkValue('Assignment', entry, `${where} (patched): /services/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (!c.ok) return c;
  }
  return { ok: true, value: doc };
}
