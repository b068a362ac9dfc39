// Structured logs (reconciler/core/log.ts): the fields a logger's name gives every line, those a
// logger is told `with`, the fleet set once, levels, and the text format as before.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configureLogs, createLogger, fieldsOfName, logFormat } from '../../reconciler/core/log.js';

const test = suite('logs: text and json');

test.after.each(() => configureLogs({ format: 'text' }));

test('names as the parts give them become part, cluster, node and component', () => {
  assert.equal(fieldsOfName('root'), { part: 'root' });
  assert.equal(fieldsOfName('cluster munich'), { part: 'cluster', cluster: 'munich' });
  assert.equal(fieldsOfName('agent munich/n1'), { part: 'agent', cluster: 'munich', node: 'n1' });
  assert.equal(fieldsOfName('canopy/agent munich/n1/proxy'), { part: 'agent', cluster: 'munich', node: 'n1', component: 'proxy' });
  assert.equal(fieldsOfName('canopy/cluster paris/adopt'), { part: 'cluster', cluster: 'paris', component: 'adopt' });
  assert.equal(fieldsOfName('canopy'), { part: 'canopy' });
  assert.equal(fieldsOfName('bench-thing'), { component: 'bench-thing' });
});

test('json: one object a line, fields in a fixed order, with() adding service and commit', () => {
  const lines: string[] = [];
  configureLogs({ format: 'json', fleet: 'demo' });
  assert.is(logFormat(), 'json');
  const log = createLogger('agent munich/n1', 'info', (l) => lines.push(l));
  log.debug('not shown at info');
  log.with({ service: 'shop/web' }).warn('start shop/web#0 failed: "quoted"\nsecond line');
  log.child('proxy').info('listening');
  assert.is(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(Object.keys(a!), ['time', 'level', 'part', 'fleet', 'cluster', 'node', 'service', 'msg']);
  assert.equal(
    { ...a!, time: 'T' },
    {
      time: 'T',
      level: 'warn',
      part: 'agent',
      fleet: 'demo',
      cluster: 'munich',
      node: 'n1',
      service: 'shop/web',
      msg: 'start shop/web#0 failed: "quoted"\nsecond line',
    },
  );
  assert.ok(!Number.isNaN(Date.parse(a!.time!)));
  assert.is(b!.component, 'proxy');
  assert.is(b!.node, 'n1');
  assert.not.ok(
    lines.some((l) => l.includes('\n')),
    'a line is one line',
  );
});

test('text: the format it always had', () => {
  const lines: string[] = [];
  configureLogs({ format: 'text' });
  createLogger('cluster munich', 'info', (l) => lines.push(l))
    .with({ commit: 'abc' })
    .warn('node n1 disconnected');
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z warn {2}\[cluster munich\] node n1 disconnected$/);
});

test.run();
