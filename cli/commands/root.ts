import { tlsProblems, brokerUrl, command, duration, hostPort, number, text, usageError, logFormatOption, LOG_FORMAT_USAGE } from '../args.js';
import { METRICS_USAGE, metricsOption } from '../metrics-option.js';
import { configureLogs, createLogger } from '../../reconciler/core/log.js';
import { runRoot } from '../parts/root.js';
import { runUntilSignal } from '../lifecycle.js';

const cmd = command({
  name: 'root',
  summary: 'run the root reconciler',
  usage: [
    'Usage: canopy root --repo DIR|URL --broker mqtt://HOST:PORT [options]',
    '',
    'Watches main of the fleet repository, places services on clusters, writes',
    'refs/canopy/placements/* and notes (refs/notes/canopy), and delegates over MQTT.',
    "Notifies fleet.yaml's spec.notifications and spec.commitStatus: their secrets and tokens come",
    'from the environment variables they name (commit status token: CANOPY_STATUS_TOKEN, then CANOPY_GIT_TOKEN).',
    '',
    '  --repo DIR|URL        a local repository, or http(s)://[user:pass@]host/path.git',
    '                        (credentials also from CANOPY_GIT_USERNAME/CANOPY_GIT_PASSWORD or CANOPY_GIT_TOKEN)',
    '  --cache-dir DIR       where a remote repository is mirrored (default ~/.cache/canopy/root-<url>)',
    '  --poll-seconds N      how often to ls-remote main (default 10; or 500ms, 5m)',
    '  --webhook HOST:PORT   listen for push webhooks (GitHub or Gitea form) to fetch at once',
    '  --webhook-secret S    HMAC secret of the webhook (or CANOPY_WEBHOOK_SECRET)',
    "  --identity FILE       the root's identity (canopy identity create --root): broker credential and signing key;",
    '                        required once fleet.yaml declares root keys (spec.trust.root)',
    '  --tls-ca FILE         the CA that signed an mqtts:// broker’s certificate',
    '  --tls-cert FILE       a client certificate (instead of a password), with --tls-key FILE',
    LOG_FORMAT_USAGE,
    METRICS_USAGE,
    '  --metrics-services N  services with replica series of their own (the N wanting the most; default 20, 0: none)',
    '  --ui HOST:PORT        serve the web dashboard there (read-only; loopback unless you say otherwise)',
    '  --ui-token-file FILE  the dashboard requires this token (the first line; or CANOPY_UI_TOKEN when --ui is given)',
  ].join('\n'),
  options: {
    'log-format': logFormatOption(),
    ui: hostPort(),
    'ui-token-file': text(),
    identity: text(),
    'tls-ca': text(),
    'tls-cert': text(),
    'tls-key': text(),
    repo: text({ required: true }),
    broker: brokerUrl({ required: true }),
    'cache-dir': text(),
    'poll-seconds': duration({ minMs: 100 }),
    webhook: hostPort(),
    'webhook-secret': text(),
    metrics: metricsOption(),
    'metrics-services': number({ min: 0, integer: true }),
  },
  check(v) {
    const tls = tlsProblems(v);
    if (tls.length) return tls;
    if (v.webhook && !/^https?:\/\//.test(v.repo)) return ['--webhook needs a remote --repo URL (a local repository is watched directly)'];
    if (v['webhook-secret'] !== undefined && !v.webhook) return ['--webhook-secret needs --webhook'];
    if (v['metrics-services'] !== undefined && !v.metrics) return ['--metrics-services needs --metrics'];
    if (v['ui-token-file'] !== undefined && !v.ui) return ['--ui-token-file needs --ui'];
    return undefined;
  },
  async run(v) {
    configureLogs({ format: v['log-format'] });
    const log = createLogger('root');
    const webhook = v.webhook && { ...v.webhook, secret: v['webhook-secret'] ?? process.env.CANOPY_WEBHOOK_SECRET };
    let ui: { host: string; port: number; token?: string } | undefined;
    if (v.ui) {
      const { uiToken } = await import('../../reconciler/report/ui-server.js');
      try {
        ui = { ...v.ui, token: uiToken(v['ui-token-file']) };
      } catch (e) {
        throw usageError(this, (e as Error).message);
      }
    }
    const start = async () => {
      const part = await runRoot({
        repo: v.repo,
        broker: v.broker,
        log,
        cacheDir: v['cache-dir'],
        pollMs: v['poll-seconds'],
        webhook,
        identityFile: v.identity,
        tls: { ca: v['tls-ca'], cert: v['tls-cert'], key: v['tls-key'] },
        metricsServices: v['metrics-services'],
        ui,
      });
      if (part.uiUrl) process.stdout.write(`UI: ${part.uiUrl}\n`);
      return part;
    };
    const served = v.metrics ? (await import('../metrics-server.js')).servingMetrics(v.metrics, log, start) : start;
    return runUntilSignal(served, 'root', () => log.info('running; Ctrl-C to stop'));
  },
});
export default cmd;
