/**
 * The one error the boot set-up throws. `step` names what was being written; 'cmdline' and 'initrd' errors
 * are the caller's input (INVALID_ARGUMENT on boot.cmdline or boot.initrd_path), the others mean the domain
 * or engine is misconfigured (RAM size, memory wiring).
 */
export type BootSetupStep =
  /** The kernel command line is too long or contains a NUL byte. */
  | 'cmdline'
  /** The RAM size or guest memory does not match the platform layout. */
  | 'memory'
  /** The entry point or another CPU state input is not a valid address. */
  | 'cpu-state'
  /** The initrd is empty or does not fit between the kernel and its highest allowed address. */
  | 'initrd';

export class BootSetupError extends Error {
  override readonly name = 'BootSetupError';

  constructor(
    readonly step: BootSetupStep,
    message: string,
  ) {
    super(message);
  }
}
