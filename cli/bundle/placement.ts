// Placeholder: being built (issue 19).
import { Failure } from '../args.js';

const notYet = () => {
  throw new Failure('canopy bundle: this direction is not built yet');
};

export async function exportPlacement(_o: { repo: string; cluster: string; out: string; images?: string; identity?: string }): Promise<number> {
  return notYet();
}

export async function importPlacement(_o: { file: string; stateDir: string; images?: string; identity?: string }): Promise<number> {
  return notYet();
}
