import type { Command } from '../args.js';
import { required, brokerUrl, num } from '../args.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { createLogger } from '../../reconciler/core/log.js';
import { runRoot } from '../parts/root.js';
import { untilSignal } from '../lifecycle.js';

const cmd: Command = {
  name: 'root',
  summary: 'run the root reconciler',
  usage: [
    'Usage: canopy root --repo DIR|URL --broker mqtt://HOST:PORT [options]',
    '',
    'Watches main of the fleet repository, places services on clusters, writes',
    'refs/canopy/placements/* and notes (refs/notes/canopy), and delegates over MQTT.',
    '',
    '  --repo DIR|URL        a local repository, or http(s)://[user:pass@]host/path.git',
    '                        (credentials also from CANOPY_GIT_USERNAME/CANOPY_GIT_PASSWORD or CANOPY_GIT_TOKEN)',
    '  --cache-dir DIR       where a remote repository is mirrored (default ~/.cache/canopy/root-<url>)',
    '  --poll-seconds N      how often to ls-remote main (default 10)',
    '  --webhook HOST:PORT   listen for push webhooks (GitHub or Gitea form) to fetch at once',
    '  --webhook-secret S    HMAC secret of the webhook (or CANOPY_WEBHOOK_SECRET)',
  ].join('\n'),
  options: {
    repo: { type: 'string' },
    broker: { type: 'string' },
    'cache-dir': { type: 'string' },
    'poll-seconds': { type: 'string' },
    webhook: { type: 'string' },
    'webhook-secret': { type: 'string' },
  },
  async run(v) {
    required(this, v, 'repo', 'broker');
    const log = createLogger('root');
    let webhook: { host: string; port: number; secret?: string } | undefined;
    if (v.webhook !== undefined) {
      const m = /^(?:(.+):)?([0-9]{1,5})$/.exec(String(v.webhook));
      if (!m || Number(m[2]) > 65535) throw new UsageError(`--webhook ${v.webhook}: expected HOST:PORT or PORT`);
      webhook = { host: m[1] ?? '127.0.0.1', port: Number(m[2]), secret: (v['webhook-secret'] as string | undefined) ?? process.env.CANOPY_WEBHOOK_SECRET };
    }
    const repo = String(v.repo);
    if (webhook && !/^https?:\/\//.test(repo)) throw new UsageError('--webhook needs a remote --repo URL (a local repository is watched directly)');
    const pollSeconds = num('poll-seconds', v['poll-seconds'], 0.1);
    const part = await runRoot({
      repo,
      broker: brokerUrl(v.broker),
      log,
      cacheDir: v['cache-dir'] as string | undefined,
      pollMs: pollSeconds ? pollSeconds * 1000 : undefined,
      webhook,
    });
    log.info('running; Ctrl-C to stop');
    return untilSignal(() => [part]);
  },
};
export default cmd;
