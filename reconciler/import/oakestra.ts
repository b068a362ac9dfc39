// Oakestra SLA → canopy service descriptors (`canopy import`, issue 5). Pure: a parsed JSON
// value in, YAML texts and notes out. Refuses what Oakestra's own validator refuses and what
// canopy cannot express; maps the rest; every field it cannot honour ends in a note.
import { Document, isCollection, isScalar } from 'yaml';
import { formatProblem, parseDescriptor } from '../core/validate.js';
import { addressBook, addressesOf, rewriteCalls, type ServiceAddress } from './oakestra-addresses.js';

export type ImportResult = { ok: true; services: Array<{ path: string; yaml: string }>; notes: string[] } | { ok: false; errors: string[] };

type Obj = Record<string, unknown>;
interface Ctx {
  errors: string[];
  notes: string[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const KINDS = {
  string: { ok: (v: unknown) => typeof v === 'string', says: 'must be a string' },
  number: { ok: (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0, says: 'must be a number >= 0' },
  integer: { ok: (v: unknown) => Number.isInteger(v) && (v as number) >= 0, says: 'must be a whole number >= 0' },
  list: { ok: (v: unknown) => Array.isArray(v), says: 'must be a list' },
};
type KindOf = { string: string; number: number; integer: number; list: unknown[] };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** o[key] if it has the kind asked for; otherwise an error naming the field's JSON path. */
function get<K extends keyof KindOf>(c: Ctx, o: Obj, at: string, key: string, kind: K, required = ''): KindOf[K] | undefined {
  const v = o[key],
    path = at ? `${at}.${key}` : key;
  if (v === undefined) {
    if (required) c.errors.push(`${path}: required (${required})`);
    return undefined;
  }
  if (KINDS[kind].ok(v)) return v as KindOf[K];
  c.errors.push(`${path}: ${KINDS[kind].says} (got ${show(v)})`);
  return undefined;
}

/** A canopy name from an Oakestra one: lower-casing is the only repair (Oakestra allows [A-Za-z0-9]). */
function label(c: Ctx, path: string, v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (!LABEL.test(l)) {
    c.errors.push(
      `${path}: "${v}" cannot be a canopy ${what}: a name is a lower-case DNS label (letters, digits and "-", at most 63, starting and ending with a letter or digit)`,
    );
    return undefined;
  }
  if (l !== v) c.notes.push(`${path}: "${v}" becomes "${l}" (canopy names are lower-case)`);
  return l;
}

// Fields that say nothing (0, "", [], {}) are listed together; the others one note each, with why.
const WHY: Record<string, string> = {
  vtpus: 'canopy schedules no TPUs',
  bandwidth_in: 'canopy reserves no bandwidth',
  bandwidth_out: 'canopy reserves no bandwidth',
  state: 'canopy fetches no state files',
  added_files: 'canopy fetches no files into workloads',
  connectivity: 'canopy has no service-to-service constraints',
  rigidness: 'canopy checks constraints when placing, it does not measure violations',
  convergence_time: 'canopy checks constraints when placing, it does not measure violations',
};
function unhonoured(c: Ctx, who: string, o: Obj, handled: string[]): void {
  const empty: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (handled.includes(k)) continue;
    const blank = v === '' || v === 0 || v === null || v === false || (Array.isArray(v) && !v.length) || (isObj(v) && !Object.keys(v).length);
    if (blank) empty.push(k);
    else c.notes.push(`${who}: ${k} = ${show(v)} not honoured: ${WHY[k] ?? 'not an Oakestra field canopy knows'}`);
  }
  if (empty.length) c.notes.push(`${who}: ignored, empty in the SLA: ${empty.join(', ')}`);
}

export function importOakestraSla(doc: unknown, source: string): ImportResult {
  const c: Ctx = { errors: [], notes: [] };
  if (!isObj(doc)) return { ok: false, errors: [`(document): must be a JSON object with sla_version and applications (got ${show(doc)})`] };
  const version = get(c, doc, '', 'sla_version', 'string', 'the SLA format version, e.g. "v2.0"');
  if (version !== undefined && !/^v2(\.|$)/.test(version)) c.notes.push(`sla_version "${version}": read as Oakestra's v2.0 format`);
  const customer = doc.customerID === undefined ? '' : String(doc.customerID);
  const apps = get(c, doc, '', 'applications', 'list', 'the applications to import');
  unhonoured(c, '(document)', doc, ['sla_version', 'customerID', 'applications']);

  const pending: Array<{ app: string; name: string; header: string[]; spec: Obj }> = [];
  const addresses: ServiceAddress[] = [];
  const seen = new Map<string, string>();
  (apps ?? []).forEach((app, i) => {
    const at = `applications[${i}]`;
    if (!isObj(app)) {
      c.errors.push(`${at}: must be an object`);
      return;
    }
    const appName = label(c, `${at}.application_name`, get(c, app, at, 'application_name', 'string', 'the name canopy uses as metadata.app'), 'app name');
    const appNs = get(c, app, at, 'application_namespace', 'string', 'Oakestra requires it');
    const appId = get(c, app, at, 'applicationID', 'string') ?? '';
    const desc = get(c, app, at, 'application_desc', 'string');
    const list = get(c, app, at, 'microservices', 'list', 'the services to import');
    unhonoured(c, at, app, ['application_name', 'application_namespace', 'applicationID', 'application_desc', 'microservices']);
    if (appNs !== undefined)
      c.notes.push(`${at}: application_namespace "${appNs}" has no canopy equivalent (services are named app/service); kept in each file's header comment`);
    if (list && !list.length) c.notes.push(`${at} (${String(app.application_name)}): no microservices: nothing to import`);
    (list ?? []).forEach((ms, j) => {
      const mat = `${at}.microservices[${j}]`;
      if (!isObj(ms)) {
        c.errors.push(`${mat}: must be an object`);
        return;
      }
      const name = label(
        c,
        `${mat}.microservice_name`,
        get(c, ms, mat, 'microservice_name', 'string', 'the name canopy uses as metadata.name'),
        'service name',
      );
      const spec = specOf(c, ms, mat, `${appName}/${name}`);
      if (!appName || !name) return;
      const { found, other } = addressesOf(c, ms.addresses, `${mat}.addresses`, appName, name);
      unhonoured(c, `${appName}/${name} (addresses)`, other, []);
      if (!spec) return;
      const id = `${appName}/${name}`;
      if (seen.has(id)) {
        c.errors.push(`${mat}.microservice_name: ${id} is also ${seen.get(id)}: canopy needs one descriptor per app/service`);
        return;
      }
      seen.set(id, mat);
      addresses.push(...found);
      const fqn = [app.application_name, appNs, ms.microservice_name, ms.microservice_namespace].filter((x) => typeof x === 'string').join('.');
      const ids = `customerID ${customer || 'none'}, applicationID ${appId || 'none'}, microserviceID ${String(ms.microserviceID ?? '') || 'none'}`;
      const header = [
        ` yaml-language-server: $schema=../../schemas/service.schema.json`,
        ` Imported by canopy import from ${oneLine(source)}: Oakestra service ${oneLine(fqn)} (${oneLine(ids)}).`,
        ...(desc ? [` ${oneLine(desc)}`] : []),
      ];
      pending.push({ app: appName, name, header, spec });
    });
  });
  // Oakestra's service IPs become canopy's names, in the cmd and environment that call them.
  const book = addressBook(c, addresses);
  if (c.errors.length) return { ok: false, errors: c.errors };
  const services = pending.map(({ app, name, header, spec }) => {
    const uses = rewriteCalls(c, book, app, name, spec);
    const { env, ...rest } = spec;
    const full = { ...rest, ...(uses.length ? { uses } : {}), ...(env ? { env } : {}) };
    return { path: `services/${app}/${name}.yaml`, yaml: yamlOf(header, app, name, full) };
  });
  // The descriptor is checked exactly as `canopy validate` will check it.
  const bad = services.flatMap((s) => {
    const r = parseDescriptor({ path: s.path, text: s.yaml });
    return r.ok ? [] : r.problems.map(formatProblem);
  });
  if (bad.length) return { ok: false, errors: bad.map((p) => `canopy cannot accept the descriptor it would write: ${p}`) };
  return { ok: true, services, notes: c.notes };
}

const HANDLED = [
  'microservice_name',
  'microservice_namespace',
  'microserviceID',
  'virtualization',
  'code',
  'cmd',
  'memory',
  'vcpus',
  'vgpus',
  'storage',
  'port',
  'environment',
  'constraints',
  'addresses',
];

function specOf(c: Ctx, ms: Obj, at: string, who: string): Obj | undefined {
  const before = c.errors.length;
  get(c, ms, at, 'microservice_namespace', 'string');
  const virt = get(c, ms, at, 'virtualization', 'string', 'container: canopy imports containers');
  if (virt !== undefined && virt !== 'container')
    c.errors.push(`${at}.virtualization: "${virt}" cannot be imported: canopy runs containers and processes, not unikernels or VMs`);
  const code = get(c, ms, at, 'code', 'string', 'the container image');
  if (code === '') c.errors.push(`${at}.code: must name a container image`);
  else if (code && /^[a-z][a-z0-9+.-]*:\/\//i.test(code))
    c.notes.push(`${who}: code "${code}" is a URL, not an image reference; written as spec.image as it is, point it at an image before deploying`);
  const cmd = get(c, ms, at, 'cmd', 'list');
  cmd?.forEach((a, k) => {
    if (typeof a !== 'string') c.errors.push(`${at}.cmd[${k}]: must be a string (got ${show(a)})`);
  });
  // Oakestra's scheduler reads an absent vcpus or memory as 0, and sla_correct_2 states neither;
  // sla_flawed_4 states memory without vcpus. So: both or neither, half a request is refused.
  const vcpus = get(c, ms, at, 'vcpus', 'number'),
    memory = get(c, ms, at, 'memory', 'integer');
  if (ms.vcpus === undefined && ms.memory !== undefined) c.errors.push(`${at}.vcpus: required when memory is given (the CPU cores one instance needs)`);
  if (ms.memory === undefined && ms.vcpus !== undefined) c.errors.push(`${at}.memory: required when vcpus is given (MB one instance needs)`);
  if (ms.vcpus === undefined && ms.memory === undefined) c.notes.push(`${who}: neither vcpus nor memory given: no resources reserved`);
  if (vcpus !== undefined && vcpus > 1024) c.errors.push(`${at}.vcpus: at most 1024 (got ${vcpus})`);
  const gpu = get(c, ms, at, 'vgpus', 'integer'),
    storage = get(c, ms, at, 'storage', 'integer');
  if (gpu !== undefined && gpu > 64) c.errors.push(`${at}.vgpus: at most 64 (got ${gpu})`);
  const port = get(c, ms, at, 'port', 'string');
  const ports = port === undefined ? [] : portsOf(c, port, `${at}.port`, who);
  const env = envOf(c, get(c, ms, at, 'environment', 'list') ?? [], `${at}.environment`);
  const constraints = constraintsOf(c, get(c, ms, at, 'constraints', 'list') ?? [], `${at}.constraints`, who);
  unhonoured(c, who, ms, HANDLED);
  c.notes.push(`${who}: replicas: 1 (Oakestra has no replica count: it starts one instance per API call)`);
  if (c.errors.length > before) return undefined;

  const resources: Obj = {};
  if (vcpus) resources.cpu = vcpus;
  if (memory) resources.memory = `${memory}Mi`;
  if (gpu) resources.gpu = gpu;
  if (storage) resources.storage = `${storage}Mi`;
  return {
    runtime: 'container',
    image: code,
    ...(cmd?.length ? { command: cmd } : {}),
    replicas: 1,
    ...(Object.keys(resources).length ? { resources } : {}),
    ...(Object.keys(constraints).length ? { constraints } : {}),
    ...(ports.length ? { ports } : {}),
    ...(Object.keys(env).length ? { env } : {}),
  };
}

// Oakestra's syntax is HOSTPORT:PORT[/proto], several joined by ";": the port the service listens
// on, and the host port it is published at (on its node's address, as canopy's hostPort).
function portsOf(c: Ctx, s: string, at: string, who: string): Obj[] {
  if (!s.trim()) return [];
  return s.split(';').flatMap((part) => {
    const m = /^\s*(?:(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?\s*$/i.exec(part);
    const host = Number(m?.[1] ?? 1),
      port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535 || host < 1 || host > 65535) {
      c.errors.push(`${at}: "${part}" is not a port mapping: expected PORT or HOSTPORT:PORT[/tcp|udp], several joined by ";"`);
      return [];
    }
    if (m[1]) c.notes.push(`${who}: port "${part.trim()}": listens on ${port}, published at ${host} on its node's address (hostPort)`);
    return [{ port, ...(m[1] ? { hostPort: host } : {}), protocol: (m[3] ?? 'tcp').toLowerCase() }];
  });
}

function envOf(c: Ctx, list: unknown[], at: string): Record<string, string> {
  const env: Record<string, string> = {};
  list.forEach((e, k) => {
    const m = typeof e === 'string' ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(e) : null;
    if (m) env[m[1]] = m[2];
    else c.errors.push(`${at}[${k}]: expected "NAME=value" (got ${show(e)})`);
  });
  return env;
}

function constraintsOf(c: Ctx, list: unknown[], at: string, who: string): Obj {
  const out: Obj = {};
  const once = (key: string, value: Obj, what: string): boolean => {
    if (out[key] === undefined) {
      out[key] = value;
      return true;
    }
    c.notes.push(`${who}: ${what} not imported: canopy holds one ${key} constraint per service and keeps the first`);
    return false;
  };
  list.forEach((x, i) => {
    const cat = `${at}[${i}]`;
    if (!isObj(x)) {
      c.errors.push(`${cat}: must be an object`);
      return;
    }
    const type = get(c, x, cat, 'type', 'string', 'latency, geo, direct or clusters');
    const what = `constraint ${show(x)}`;
    if (type === 'latency') {
      const target = label(c, `${cat}.area`, get(c, x, cat, 'area', 'string', 'the area the latency is measured to'), 'target');
      const maxMs = positive(c, x, cat, 'threshold', 60000, 'the most milliseconds allowed');
      if (target && maxMs && once('latency', { to: { target }, maxMs }, what)) {
        c.notes.push(`${who}: latency to area "${target}": fleet.yaml must define spec.targets.${target} (lat, lon)`);
      }
      unhonoured(c, `${who} (${cat})`, x, ['type', 'area', 'threshold']);
    } else if (type === 'geo') {
      const loc = get(c, x, cat, 'location', 'string', '"LAT,LON" in degrees');
      const withinKm = positive(c, x, cat, 'threshold', 20040, 'the most kilometres from location');
      // Oakestra's scheduler splits location on "," as latitude, longitude.
      const m = loc === undefined ? null : /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(loc);
      const lat = Number(m?.[1]),
        lon = Number(m?.[2]);
      if (loc !== undefined && (!m || Math.abs(lat) > 90 || Math.abs(lon) > 180))
        c.errors.push(`${cat}.location: expected "LAT,LON" in degrees (got ${show(loc)})`);
      else if (m && withinKm) once('geo', { lat, lon, withinKm }, what);
      unhonoured(c, `${who} (${cat})`, x, ['type', 'location', 'threshold']);
    } else if (type === 'direct') {
      // A cluster name selects that cluster. canopy selects nodes by label, not by host name:
      // one node becomes the label canopy.node=<name>, which the operator gives that agent
      // (canopy agent --labels canopy.node=<name>); a list of nodes cannot be said as labels.
      const cluster = label(c, `${cat}.cluster`, get(c, x, cat, 'cluster', 'string') || undefined, 'cluster name');
      const nodes = (get(c, x, cat, 'node', 'string') ?? '')
        .split(';')
        .map((n) => n.trim())
        .filter(Boolean);
      if (cluster) once('clusters', { names: [cluster] }, what);
      if (nodes.length === 1) {
        once('nodes', { matchLabels: { 'canopy.node': nodes[0] } }, what);
        c.notes.push(
          `${who}: direct node "${nodes[0]}" becomes nodes.matchLabels canopy.node=${nodes[0]}: start that node's agent with --labels canopy.node=${nodes[0]}`,
        );
      } else if (nodes.length > 1)
        c.notes.push(`${who}: direct nodes "${nodes.join(';')}" not imported: canopy selects nodes by label, not by a list of host names`);
      unhonoured(c, `${who} (${cat})`, x, ['type', 'cluster', 'node']);
    } else if (type === 'clusters') {
      const allowed = get(c, x, cat, 'allowed', 'list', 'the cluster names allowed') ?? [];
      const names = allowed.flatMap((n, k) => {
        if (typeof n !== 'string') {
          c.errors.push(`${cat}.allowed[${k}]: must be a string (got ${show(n)})`);
          return [];
        }
        return label(c, `${cat}.allowed[${k}]`, n, 'cluster name') ?? [];
      });
      if (names.length) once('clusters', { names: [...new Set(names)] }, what);
      unhonoured(c, `${who} (${cat})`, x, ['type', 'allowed']);
    } else if (type !== undefined) {
      c.notes.push(`${who}: ${what} not imported: canopy knows no constraint of type "${type}"`);
    }
  });
  return out;
}

function positive(c: Ctx, o: Obj, at: string, key: string, max: number, what: string): number | undefined {
  const v = get(c, o, at, key, 'number', what);
  if (v === undefined) return undefined;
  if (v === 0 || v > max) {
    c.errors.push(`${at}.${key}: must be more than 0 and at most ${max} (got ${v})`);
    return undefined;
  }
  return v;
}

function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** Block style at the top, flow style for the small nested values, as the template writes them. */
function yamlOf(header: string[], app: string, name: string, spec: Obj): string {
  const doc = new Document({ apiVersion: 'canopy/v1', kind: 'Service', metadata: { name, app }, spec });
  if (isCollection(doc.contents)) doc.contents.commentBefore = header.join('\n'); // no blank line after it
  for (const key of ['command', 'resources', 'ports', 'uses', 'env']) {
    const n = doc.getIn(['spec', key], true);
    if (isCollection(n)) n.flow = true;
  }
  for (const key of ['geo', 'latency', 'clusters', 'nodes']) {
    const n = doc.getIn(['spec', 'constraints', key], true);
    if (isCollection(n)) n.flow = true;
  }
  const replicas = doc.getIn(['spec', 'replicas'], true);
  if (isScalar(replicas)) replicas.comment = ' Oakestra has no replica count: change it here';
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
