// The receiving boundary for wire messages and system records: bytes in, a typed value or a
// precise error out. The checks are plain functions generated at build time (validators.ts), so
// an agent loads neither TypeBox nor a schema compiler to check what it receives.
import type { ValidateFunction, ErrorObject } from 'ajv';
import { validator, validatorIndex } from './validators-load.js';
import type {
  Placement,
  Assignment,
  Version,
  DesiredMessage,
  ClusterStatus,
  ServiceStatus,
  OnlineMessage,
  NodeDesired,
  NodeStatus,
  SignedEnvelope,
  IdentityFile,
  LogsMessage,
  BundleManifest,
} from './messages.js';

/** Every shape checked at a boundary, by name. */
export interface Shapes {
  Placement: Placement;
  Assignment: Assignment;
  Version: Version;
  DesiredMessage: DesiredMessage;
  ClusterStatus: ClusterStatus;
  ServiceStatus: ServiceStatus;
  OnlineMessage: OnlineMessage;
  NodeDesired: NodeDesired;
  NodeStatus: NodeStatus;
  SignedEnvelope: SignedEnvelope;
  IdentityFile: IdentityFile;
  LogsMessage: LogsMessage;
  BundleManifest: BundleManifest;
}
export type ShapeName = keyof Shapes;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse JSON bytes received on `where` (a topic or a ref) as the shape `name`. */
export function parsePayload<K extends ShapeName>(name: K, payload: Uint8Array | string, where: string): Parsed<Shapes[K]> {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${where}: not JSON (${(e as Error).message})` };
  }
  return checkValue(name, data, where);
}

/** Check an already parsed value as the shape `name`. */
export function checkValue<K extends ShapeName>(name: K, data: unknown, where: string): Parsed<Shapes[K]> {
  const kinds = validatorIndex().kinds[name];
  let check: ValidateFunction;
  if (kinds) {
    // A union told apart by `kind`: check the variant the message names, so the error points
    // inside it ("/placement/version/seq"), not at the union as a whole.
    const kind = (data as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string' || !kinds.includes(kind)) {
      return { ok: false, error: `${where}: /kind: must be one of ${kinds.join(', ')} (got ${JSON.stringify(kind) ?? 'nothing'})` };
    }
    check = validator(`${name}_${kind}`);
  } else check = validator(name);
  if (check(data)) return { ok: true, value: data as Shapes[K] };
  return { ok: false, error: `${where}: ${describe(check.errors?.[0])}` };
}

/** "/replicas/1/state: must be equal to one of the allowed values" */
function describe(e: ErrorObject | undefined): string {
  if (!e) return '/: does not match the schema';
  const p = e.params as Record<string, unknown>;
  // Name the field itself for a missing or unknown one, not the object that holds it.
  const at =
    e.keyword === 'required'
      ? `${e.instancePath}/${String(p.missingProperty)}`
      : e.keyword === 'additionalProperties'
        ? `${e.instancePath}/${String(p.additionalProperty)}`
        : e.instancePath;
  const what =
    e.keyword === 'required'
      ? 'is required'
      : e.keyword === 'additionalProperties'
        ? 'is not a known field'
        : e.keyword === 'enum'
          ? `must be one of ${(p.allowedValues as unknown[]).join(', ')}`
          : (e.message ?? 'does not match the schema');
  return `${at || '/'}: ${what}`;
}
