// Step 2 of a pass over main: when fleet.yaml requires signed commits (spec.trust.commitSigners),
// the head is accepted only if one of those keys signed it. The keys that judge it are the last
// accepted commit's, so an unsigned commit cannot lift the rule by deleting it; before any commit
// was accepted, the head's own fleet.yaml says. A refusal is a rejection of the whole commit,
// made before it is loaded (the good state stays untouched): the validate step records it, its
// note saying who signed (or that nobody did) and which keys are trusted. Without the rule this
// step reads nothing and starts no process.
import { noteSignature } from '../../core/commit-signers.js';
import { problemAt } from '../../core/parse-descriptor.js';
import type { CommitRules, RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';

export async function verifySignature(state: RootState, ports: Pick<RootPorts, 'signatures' | 'log'>, pass: Pass): Promise<StepResult> {
  if (!pass.commit) return 'done';
  const { head } = pass.commit;
  const rules = state.good ? rulesOfGood(state) : await ports.signatures.rulesAt(head);
  if (!rules) return;
  const verdict = await ports.signatures.verify(head, rules.keys);
  const signature = noteSignature(head, verdict, rules.keys, rules.from);
  pass.commit.signature = signature;
  if (!signature.problem) return;
  ports.log.warn(signature.problem);
  pass.commit.result = { ok: false, problems: [problemAt('fleet.yaml', rules.fleetYaml, ['spec', 'trust', 'commitSigners'], signature.problem)] };
}

function rulesOfGood(state: RootState): CommitRules | undefined {
  const good = state.good!;
  const keys = good.fleet.spec?.trust?.commitSigners;
  if (!keys?.length) return undefined;
  return { keys, from: good.commit, fleetYaml: good.files.get('fleet.yaml')?.text ?? '' };
}
