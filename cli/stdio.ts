// stdout and stderr may be pipes whose reader is gone (`canopy up 2>&1 | tee log`, then Ctrl-C:
// tee ends first). Node ignores SIGPIPE, so a write then fails with EPIPE, emitted as an 'error'
// event on the stream: without a listener that kills the process on the spot, skipping its
// shutdown. Here such an error only closes that stream: later writes to it are dropped, and the
// command carries on (a long-running one with its shutdown).

const GUARDED = Symbol.for('canopy.stdio-guarded');

/** Once per process (the entry and a command's bundle both call it). */
export function guardStdio(): void {
  const p = process as unknown as Record<symbol, boolean>;
  if (p[GUARDED]) return;
  p[GUARDED] = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', () => {
      // EPIPE (reader gone) or another write error: the stream is destroyed by now, and writes
      // to it are dropped (their callbacks get ERR_STREAM_DESTROYED; no further 'error' event).
    });
  }
}

/** Whether writing to this stream can still reach anyone. */
export function writable(s: NodeJS.WriteStream): boolean {
  return !s.destroyed && s.writable;
}
