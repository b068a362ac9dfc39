// The edit `canopy retire C` makes to clusters/C.yaml: spec.retired: true, with the file's
// comments and other fields kept (the yaml Document API). Pure, so it is tested without Git.
import { isMap, parseDocument } from 'yaml';

/** The file with spec.retired: true, or that it already says so; throws with file:line when it is not YAML. */
export function retireText(rel: string, text: string): { text: string } | { already: true } {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1];
    throw new Error(`${rel}:${line}:${col}: not valid YAML (${e.message.split('\n')[0]}); fix it first`);
  }
  if (doc.getIn(['spec', 'retired']) === true) return { already: true };
  if (!isMap(doc.get('spec'))) doc.set('spec', doc.createNode({}));
  doc.setIn(['spec', 'retired'], true);
  return { text: doc.toString() };
}
