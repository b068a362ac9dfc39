// The manifest of a placement bundle (schemas/messages.ts BundleManifest): what the root signs
// when it exports a placement for an air-gapped site, and what the site checks before a cluster
// adopts it. It is signed exactly as the root's MQTT messages are (mqtt/signed-codec.ts), on the
// pseudo-topic `canopy/v1/<fleet>/clusters/<c>/bundle`, so a manifest signed for one cluster is
// worthless for another, and a site trusts it by the same root keys it trusts the broker by. The
// manifest names the placement's commit (and main's, and the notes'): Git's object ids cover
// their content, so the signature covers the whole placement.
import type { BundleManifest } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import { MAX_PAYLOAD_BYTES } from '../mqtt/limits.js';
import { signedCodec } from '../mqtt/signed-codec.js';
import { topics } from '../mqtt/topics.js';
import type { PublicKey, Signer } from './keys.js';

export type { BundleManifest };

export function bundleTopic(fleet: string, cluster: string): string {
  return topics(fleet).clusterBundle(cluster);
}

/** The manifest as written into the bundle: a signed envelope when `signer`, else plain JSON. */
export function writeManifest(m: BundleManifest, signer: Signer | undefined): string {
  const body = JSON.stringify(m);
  if (!signer) return body + '\n';
  const codec = signedCodec({ signer, trust: { keysFor: () => undefined }, maxBytes: MAX_PAYLOAD_BYTES });
  return `${codec.encode(bundleTopic(m.fleet, m.cluster), body).toString()}\n`;
}

export type OpenedManifest = { ok: true; manifest: BundleManifest; signedBy?: string } | { ok: false; error: string };

/**
 * Open a manifest for `fleet`/`cluster` (either may be unknown yet: then the manifest's own
 * names are taken, and checked against the signature's topic). `rootKeys`: the keys to verify
 * by; undefined runs unsigned (a plain manifest, or an envelope opened unchecked).
 */
export function openManifest(
  text: string,
  where: string,
  rootKeys: readonly PublicKey[] | undefined,
  expect: { fleet?: string; cluster?: string } = {},
): OpenedManifest {
  let outer: { signed?: unknown; by?: unknown; body?: { fleet?: unknown; cluster?: unknown } };
  try {
    outer = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${where}: not JSON (${(e as Error).message})` };
  }
  const signed = outer?.signed === 'canopy/v1';
  const inner = (signed ? outer.body : outer) as { fleet?: unknown; cluster?: unknown } | undefined;
  const fleet = expect.fleet ?? (typeof inner?.fleet === 'string' ? inner.fleet : undefined);
  const cluster = expect.cluster ?? (typeof inner?.cluster === 'string' ? inner.cluster : undefined);
  if (!fleet || !cluster) return { ok: false, error: `${where}: not a canopy bundle manifest (no fleet and cluster)` };
  let body: Buffer = Buffer.from(text.trimEnd());
  if (rootKeys) {
    if (!signed)
      return { ok: false, error: `${where}: the bundle is not signed, and this site trusts the root's keys (${rootKeys.map((k) => k.id).join(', ')})` };
    if (!rootKeys.length) return { ok: false, error: `${where}: signed by ${String(outer.by)}, and this site knows no root key to check it by` };
    const codec = signedCodec({ trust: { keysFor: () => rootKeys }, maxBytes: MAX_PAYLOAD_BYTES });
    const opened = codec.decode(bundleTopic(fleet, cluster), body);
    if (!opened.ok) return { ok: false, error: `${where}: ${opened.error}` };
    body = opened.payload;
  } else if (signed) {
    body = Buffer.from(JSON.stringify(outer.body));
  }
  const parsed = parsePayload('BundleManifest', body, where);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (m.fleet !== fleet || m.cluster !== cluster) return { ok: false, error: `${where}: the bundle is for ${m.fleet}/${m.cluster}, not ${fleet}/${cluster}` };
  return { ok: true, manifest: m, signedBy: signed ? String(outer.by) : undefined };
}
