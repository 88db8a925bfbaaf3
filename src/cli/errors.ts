// How a tsvirsh command fails. virsh prints its own line(s) first
// ("error: Failed to destroy domain 'test'") and then the library's error
// ("error: Requested operation is not valid: ..."), all on stderr.

/** A command failure: virsh's own message lines, then the library error that caused it, if any. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly lines: string[],
    readonly reason?: unknown,
  ) {
    super(lines.join('\n'));
  }
}

/** Text that goes to stderr exactly as given (libxml2's own diagnostics have no "error: " prefix). */
export class RawDiagnostic extends Error {
  override readonly name = 'RawDiagnostic';
}

/** Awaits a library call; on failure reports `message` followed by the library's error. */
export async function attempt<T>(message: string, call: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof call === 'function' ? call() : call);
  } catch (e) {
    throw new CommandError([message], e);
  }
}
