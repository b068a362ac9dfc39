// Run until SIGINT/SIGTERM, then stop parts in reverse order. A second signal exits at once.
import type { Running } from './parts/running.js';

export function untilSignal(parts: () => Running[], onStop?: () => void): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) {
        process.stderr.write(`${sig} again: exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      onStop?.();
      process.stderr.write(`${sig}: stopping…\n`);
      for (const p of [...parts()].reverse()) await p.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
      resolve(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });
}
