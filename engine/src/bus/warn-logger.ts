/** The one logging method buses and devices need; a pino logger satisfies it as is. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

/** A logger that drops everything: the default when none is injected. */
export const NULL_LOGGER: WarnLogger = { warn: () => undefined };

/** `0x`-prefixed lower-case hex, the form addresses take in log messages. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
