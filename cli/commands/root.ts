import type { Command } from '../args.js';
import { required, brokerUrl } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { createLogger } from '../../reconciler/core/log.js';
import { runRoot } from '../parts.js';
import { untilSignal } from '../lifecycle.js';

const cmd: Command = {
  name: 'root',
  summary: 'run the root reconciler',
  usage: 'Usage: canopy root --repo DIR --broker mqtt://HOST:PORT\n\nWatches main of the fleet repository in DIR, places services on clusters, writes\nrefs/canopy/placements/* and notes (refs/notes/canopy), and delegates over MQTT.',
  options: { repo: { type: 'string' }, broker: { type: 'string' } },
  async run(v) {
    required(this, v, 'repo', 'broker');
    const log = createLogger('root');
    const part = await runRoot({ repo: await openRepo(String(v.repo)), broker: brokerUrl(v.broker), log });
    log.info('running; Ctrl-C to stop');
    return untilSignal(() => [part]);
  },
};
export default cmd;
