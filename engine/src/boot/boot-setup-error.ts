/**
 * The one error the boot set-up throws. `step` names what was being written; 'cmdline' errors are the
 * caller's input (map to INVALID_ARGUMENT on boot.cmdline), the others mean the domain or engine is
 * misconfigured (RAM size, memory wiring).
 */
export type BootSetupStep =
  /** The kernel command line is too long or contains a NUL byte. */
  | 'cmdline'
  /** The RAM size or guest memory does not match the platform layout. */
  | 'memory'
  /** The entry point or another CPU state input is not a valid address. */
  | 'cpu-state';

export class BootSetupError extends Error {
  override readonly name = 'BootSetupError';

  constructor(
    readonly step: BootSetupStep,
    message: string,
  ) {
    super(message);
  }
}
