// How big the bad-input corpus is, boundary by boundary: the rows of each table (one bad input
// each; each file's own line says how many checks it runs on them). Issue 14 asks for at least 500.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { printCount } from '../helpers/corpus.js';
import { cliCases } from './cli-cases.js';
import { DESCRIPTOR_CASES } from './descriptor-cases.js';
import { PAYLOAD_CASES } from './payload-cases.js';
import { recordCases } from './record-cases.js';
import { signedCases } from './signed-cases.js';

const test = suite('corpus: size');

test('at least 500 bad inputs, at every boundary', () => {
  const counts = {
    'descriptors in commits': DESCRIPTOR_CASES.length,
    'MQTT payloads': PAYLOAD_CASES.length,
    'signed payloads': signedCases().length,
    'Git records': recordCases('0'.repeat(40)).length,
    'command lines': cliCases({ repo: 'r', plain: 'p', none: 'n', state: 's' }).length,
  };
  const total = printCount('total', counts);
  for (const [boundary, n] of Object.entries(counts)) assert.ok(n >= 40, `${boundary}: ${n}`);
  assert.ok(total >= 500, `${total} cases`);
});

test.run();
