/**
 * The one error every loader throws. `step` names the stage that failed so the API layer can map any
 * LoaderError to INVALID_ARGUMENT on the boot.kernel field (and 'read' failures to their file problem);
 * the message names the exact header, segment or address at fault.
 */
export type LoaderStep =
  /** The image file could not be read (missing, not a regular file, too large). */
  | 'read'
  /** The image is not a format the loader boots (unrecognised, bzImage, empty raw image). */
  | 'format'
  /** The ELF header or a header table is malformed or not for x86. */
  | 'parse-elf'
  /** A bzImage's setup header is malformed, too old or not for a 64-bit entry (the message names the field). */
  | 'setup-header'
  /** The PVH entry note is missing or malformed. */
  | 'pvh-note'
  /** A segment's file bytes are inconsistent (past the end of the file, file size above memory size). */
  | 'segment'
  /** The image does not fit in guest RAM (below the load minimum, past the end of RAM, address overflow). */
  | 'fit'
  /** The entry point is not inside the loaded image. */
  | 'entry';

export class LoaderError extends Error {
  override readonly name = 'LoaderError';

  constructor(
    readonly step: LoaderStep,
    message: string,
  ) {
    super(message);
  }
}

/** Hex for messages: 0x-prefixed, accepts number or bigint. */
export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
