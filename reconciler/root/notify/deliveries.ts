// From an event and fleet.yaml's targets to HTTP requests (a webhook's JSON event, a GitHub or
// Gitea commit status), and sending one. A request keeps the names of the environment variables
// its secret and token are in, never their values: the outbox journals requests to disk.
import { createHmac } from 'node:crypto';
import type { CommitStatus, NotificationTarget } from '../../../schemas/model.js';
import { payloadOf, repositoryOf, statusOf, type CanopyEvent } from './events.js';

export type TargetKind = 'webhook' | 'github' | 'gitea';

export interface Request {
  target: TargetKind;
  /** Requests with one key are delivered in order (a status's pending before its success). */
  key: string;
  event: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Sign the body with HMAC-SHA256, the secret from this environment variable. */
  secretEnv?: string;
  /** The Authorization header: scheme and the variables the token may be in, first set wins. */
  auth?: { scheme: 'Bearer' | 'token'; env: string[] };
}

export interface NotifyConfig {
  fleet: string;
  webhooks: NotificationTarget[];
  commitStatus?: CommitStatus;
  /** The root's --repo URL: the default repository (and Gitea server) of commit statuses. */
  repoUrl?: string;
}

export const DEFAULT_CONTEXT = 'canopy/deploy';
export const TOKEN_ENVS = ['CANOPY_STATUS_TOKEN', 'CANOPY_GIT_TOKEN'];
export const SIGNATURE_HEADER = 'x-canopy-signature';

/** The requests one event makes, and why a configured target could not get one (said once by the caller). */
export function requestsFor(e: CanopyEvent, c: NotifyConfig, at: Date): { requests: Request[]; problems: string[] } {
  const requests: Request[] = [];
  const problems: string[] = [];
  const body = JSON.stringify(payloadOf(e, c.fleet, at));
  for (const w of c.webhooks) {
    if (w.events && !w.events.includes(e.event)) continue;
    const headers = { 'content-type': 'application/json', 'user-agent': 'canopy-root', 'x-canopy-event': e.event };
    requests.push({ target: 'webhook', key: `webhook ${w.url}`, event: e.event, url: w.url, body, headers, secretEnv: w.secretEnv });
  }
  const s = c.commitStatus && statusOf(e);
  if (c.commitStatus && s) {
    const r = statusRequest(c.commitStatus, c.repoUrl, e.event, s);
    if (typeof r === 'string') problems.push(r);
    else requests.push(r);
  }
  return { requests, problems };
}

function statusRequest(cs: CommitStatus, repoUrl: string | undefined, event: string, s: NonNullable<ReturnType<typeof statusOf>>): Request | string {
  const fromUrl = repositoryOf(repoUrl);
  const repository = cs.repository ?? fromUrl?.repository;
  if (!repository) return 'spec.commitStatus: no repository (set spec.commitStatus.repository, or run the root on the repository URL)';
  const api = (cs.apiUrl ?? (cs.provider === 'github' ? 'https://api.github.com' : fromUrl?.origin))?.replace(/\/+$/, '');
  if (!api) return 'spec.commitStatus: no apiUrl for gitea (set spec.commitStatus.apiUrl, or run the root on the repository URL)';
  const path = `/repos/${repository}/statuses/${s.sha}`;
  const url = cs.provider === 'github' ? `${api}${path}` : `${api}${/\/api\/v1$/.test(api) ? '' : '/api/v1'}${path}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'canopy-root' };
  if (cs.provider === 'github') Object.assign(headers, { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
  else headers.accept = 'application/json';
  const body = JSON.stringify({ state: s.state, context: cs.context ?? DEFAULT_CONTEXT, description: s.description });
  const auth = { scheme: cs.provider === 'github' ? ('Bearer' as const) : ('token' as const), env: cs.tokenEnv ? [cs.tokenEnv] : TOKEN_ENVS };
  return { target: cs.provider, key: `status ${api} ${repository}`, event, url, body, headers, auth };
}

/** What is missing to send `r` from this environment (a secret or token variable not set), or undefined. */
export function missingCredential(r: Pick<Request, 'secretEnv' | 'auth'>, env: NodeJS.ProcessEnv): string | undefined {
  if (r.secretEnv && !env[r.secretEnv]) return `${r.secretEnv} is not set (the webhook's HMAC secret)`;
  if (r.auth && !r.auth.env.some((n) => env[n])) return `none of ${r.auth.env.join(', ')} is set (the commit status token)`;
  return undefined;
}

export const signatureOf = (body: string, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export type Outcome = { ok: true; status: number } | { ok: false; retry: boolean; why: string };

/** Send one request; network errors, timeouts, 5xx and 429 are worth a retry, other answers are not. */
export async function send(r: Request, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Outcome> {
  const headers = { ...r.headers };
  if (r.secretEnv) headers[SIGNATURE_HEADER] = signatureOf(r.body, env[r.secretEnv] ?? '');
  if (r.auth) headers.authorization = `${r.auth.scheme} ${r.auth.env.map((n) => env[n]).find(Boolean) ?? ''}`;
  try {
    const res = await fetch(r.url, { method: 'POST', headers, body: r.body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text().catch(() => '');
    if (res.ok) return { ok: true, status: res.status };
    const why = `HTTP ${res.status}${text ? `: ${text.trim().slice(0, 200)}` : ''}`;
    return { ok: false, retry: res.status >= 500 || res.status === 429 || res.status === 408, why };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return {
      ok: false,
      retry: true,
      why: err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message),
    };
  }
}
