// Placeholder: being built (issue 19).
import { Failure } from '../args.js';

const notYet = () => {
  throw new Failure('canopy bundle: this direction is not built yet');
};

export async function exportStatus(_o: { stateDir: string; out: string }): Promise<number> {
  return notYet();
}

export async function importStatus(_o: { file: string; repo: string }): Promise<number> {
  return notYet();
}
