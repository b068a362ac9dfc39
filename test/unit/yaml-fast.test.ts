// The fast YAML path (js-yaml) must read every document it accepts exactly as the precise one
// (yaml, which keeps positions) does: for a corpus of tricky YAML, of the template's files and of
// generated descriptors with scalars of every kind, fastValue either declines or agrees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { fastValue, parseDescriptor } from '../../reconciler/core/parse-descriptor.js';
import { prng } from '../helpers/builders.js';

const here = dirname(fileURLToPath(import.meta.url));
const TEMPLATE = join(here, '../../../fleet-repo-template');

/** What the precise parser makes of `text`, or undefined when it reports an error. */
function precise(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) return undefined;
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return undefined;
  }
}

function agrees(text: string): void {
  const fast = fastValue(text);
  if (fast === undefined) return;
  assert.equal(fast, precise(text), `fast and precise readings differ for ${JSON.stringify(text)}`);
}

const Fast = suite('fastValue');

const SCALARS = [
  '1',
  '-1',
  '+1',
  '1_000',
  '0o17',
  '017',
  '0x1F',
  '0b101',
  '-0o7',
  '+0x10',
  '1.5',
  '1e3',
  '1E3',
  '-1.5e-3',
  '.5',
  '5.',
  '+.5',
  '.inf',
  '-.Inf',
  '.NaN',
  'true',
  'True',
  'TRUE',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'null',
  'Null',
  'NULL',
  '~',
  '',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '12:30:00',
  '1:30',
  '0',
  '-0',
  '00',
  '0.0',
  '1,000',
  '"1"',
  "'x'",
  'a b',
  '[1, 2]',
  '{a: 1}',
  '0755',
  '08',
  '09',
  '1__0',
  '0o',
  '0x',
  '1_',
  '12e',
  '.',
  '-',
  '=',
  '"\\u0041"',
  "'it''s'",
  '"a\\x41"',
  '!!str 1',
  '!!int "1"',
  '!!binary aGVsbG8=',
  '!custom x',
  '&a 1',
  '*a',
  'x:y',
  '"x: y"',
  '12345678901234567890',
  '0.1e1',
  '1e+3',
  '"\\t"',
  "'\\t'",
  'ü',
  '😀',
  'http://example.com/?q=1',
  '"50%"',
  'sh -c "ls *"',
];

Fast('every kind of scalar, as a value and as a key: declined or read alike', () => {
  for (const s of SCALARS) {
    agrees(`k: ${s}\n`);
    agrees(`${s}: v\n`);
    agrees(`list: [${s}]\n`);
    agrees(`m: {a: ${s}}\n`);
    agrees(`seq:\n  - ${s}\n`);
  }
});

Fast('structures: documents, keys, collections, block scalars, comments', () => {
  const cases = [
    'a: 1\na: 2\n',
    'a: 1\n---\nb: 2\n',
    '---\na: 1\n',
    'a: 1\n...\n',
    'a: &x 1\nb: *x\n',
    'a: [1, 2,]\n',
    'a: {b: 1, c}\n',
    'a:\n  - 1\n  - b: 2\n    c: 3\n',
    'a: |\n  line1\n  line2\n',
    'a: >-\n  folded\n  text\n\n  para\n',
    'a: "x\\ny"\n',
    "a: 'x''y'\n",
    'a: x # comment\n',
    '# only comment\n',
    '',
    '   \n',
    'a:\n\tb: 1\n',
    'a: b: c\n',
    '[1, 2]\n',
    'just a string\n',
    '? complex\n: value\n',
    '%YAML 1.2\n---\na: 1\n',
    'a:\n  b:\n    c: d\n  e: f\n',
    'a: "unterminated\n',
    'a: [1, 2\n',
    'a: 1\n b: 2\n',
    'a: -\n',
    'a: - 1\n',
    'a: @x\n',
    'a: `x\n',
    'a:\n- 1\n- 2\n',
    'a: null\nb: ~\nc:\n',
    'a: [a, [b, c], {d: e}]\n',
    '"a": 1\n',
    'a: |2\n    x\n',
    'a: |+\n  x\n\n',
    'a: >\n x\n\n',
    '1: a\n',
    'true: a\n',
    'null: a\n',
    '~: a\n',
    '[1]: a\n',
    '{a: 1}: b\n',
    'a: {[1]: b}\n',
    'base: &b {x: 1}\nc:\n  <<: *b\n',
    'a: "x"y\n',
    "a: 'x\n",
    'a: b\n  c\n',
    'a:\n  b\n  c\n',
  ];
  for (const c of cases) agrees(c);
});

Fast('anything risky is declined, so the precise parser decides', () => {
  for (const t of [
    'a: &x 1\nb: *x\n',
    'a: !!binary aGVsbG8=\n',
    '? k\n: v\n',
    '%YAML 1.2\n---\na: 1\n',
    'base: &b {x: 1}\nc:\n  <<: *b\n',
    'null: a\n',
    '[1]: a\n',
    'k: -0o7\n',
    'k: +.5\n',
    'k: 0b101\n',
    'a: 1\na: 2\n',
    'a: 1\n---\nb: 2\n',
    '',
    '[1, 2]\n',
    'just a string\n',
  ]) {
    assert.is(fastValue(t), undefined, JSON.stringify(t));
  }
});

Fast('generated descriptors with random scalars: declined or read alike', () => {
  const rng = prng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)];
  for (let i = 0; i < 2000; i++) {
    const s = () => pick(SCALARS);
    const text = [
      'apiVersion: canopy/v1',
      'kind: Service',
      `metadata: {name: ${s()}, app: ${s()}, labels: {${s()}: ${s()}}}`,
      'spec:',
      `  runtime: ${pick(['container', 'process', s()])}`,
      `  replicas: ${s()}`,
      `  resources: {cpu: ${s()}, memory: ${s()}}`,
      `  env:\n    ${pick(['A', 'B_1', s()])}: ${s()}`,
      `  command: [${s()}, ${s()}]`,
      '',
    ].join('\n');
    agrees(text);
  }
});

const Parse = suite('parseDescriptor, fast or precise');

Parse("the template's descriptors take the fast path and give what the precise parser gives", () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.yaml')) files.push(p);
    }
  };
  walk(TEMPLATE);
  assert.ok(files.length >= 5);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const rel = f.slice(TEMPLATE.length + 1);
    assert.ok(fastValue(text) !== undefined, `${rel} should take the fast path`);
    const r = parseDescriptor({ path: rel, text });
    assert.ok(r.ok, `${rel}: ${JSON.stringify(r)}`);
    if (r.ok) assert.equal(r.value, precise(text));
  }
});

Parse('a problem found on the fast path is reported by the precise one, with its line', () => {
  const text = 'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: web, app: shop}\nspec:\n  runtime: container\n  image: x\n  replicas: -1\n';
  const r = parseDescriptor({ path: 'services/shop/web.yaml', text });
  assert.is(r.ok, false);
  if (!r.ok) assert.is(r.problems[0].line, 7);
});

Fast.run();
Parse.run();
