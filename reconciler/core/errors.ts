// Errors that say what happens next (after Flux's stalled / waiting / generic split) and survive
// a trip through JSON (after isomorphic-git's BaseError: a stable code and data).
export class CanopyError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CanopyError';
  }
  toJSON(): { code: string; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** Only a change of input fixes it: do not retry. `next` tells the operator what to do. */
export class TerminalError extends CanopyError {
  constructor(
    code: string,
    message: string,
    readonly next: string,
    data: Record<string, unknown> = {},
  ) {
    super(code, message, data);
    this.name = 'TerminalError';
  }
}

/** A user-facing error from the command line: printed without a stack, exit code given. */
export class UsageError extends CanopyError {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super('usage', message);
    this.name = 'UsageError';
  }
}
