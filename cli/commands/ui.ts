import { command, hostPort, text, usageError } from '../args.js';
import { createLogger } from '../../reconciler/core/log.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { startUiServer, uiToken } from '../../reconciler/report/ui-server.js';
import { runUntilSignal } from '../lifecycle.js';

const cmd = command({
  name: 'ui',
  summary: 'serve the web dashboard from a clone, Git alone',
  usage: [
    'Usage: canopy ui [--repo DIR] [--listen HOST:PORT] [--ui-token-file FILE]',
    '',
    'Serves the dashboard that `canopy root --ui` and `canopy up` serve, read from a clone of the',
    "fleet repository alone (no broker): fetch 'refs/canopy/*:refs/canopy/*' and 'refs/notes/*:refs/notes/*'",
    'into it, and the page follows each fetch within a second. Prints UI: http://HOST:PORT/.',
    '',
    '  --repo DIR             the fleet repository (default .)',
    '  --listen HOST:PORT     where to listen (default 127.0.0.1:0, a free port on loopback)',
    '  --ui-token-file FILE   require this token (its first line) on every request, else 401;',
    '                         CANOPY_UI_TOKEN sets it too. Open http://HOST:PORT/?token=T or send',
    '                         "Authorization: Bearer T".',
  ].join('\n'),
  options: { repo: text({ default: '.' }), listen: hostPort(), 'ui-token-file': text() },
  async run(v) {
    const repo = await openRepo(v.repo).catch((e: Error) => {
      throw usageError(this, `--repo ${v.repo}: ${e.message}`);
    });
    let token: string | undefined;
    try {
      token = uiToken(v['ui-token-file']);
    } catch (e) {
      throw usageError(this, (e as Error).message);
    }
    const log = createLogger('ui');
    const at = v.listen ?? { host: '127.0.0.1', port: 0 };
    return runUntilSignal(async () => {
      const ui = await startUiServer({ repo, ...at, token, log });
      process.stdout.write(`UI: ${ui.url}\n`);
      return { stop: () => ui.close() };
    }, 'the dashboard');
  },
});
export default cmd;
