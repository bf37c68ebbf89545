/**
 * The one way host code writes guest RAM (loaders, boot set-up, later virtio DMA). The engine's GuestMemory
 * implements it and, on the emulated accelerator, clears the translated-code cache for every range written.
 */
export interface GuestMemoryWriter {
  /** Bytes of contiguous RAM from guest physical address 0 (low RAM, below the PCI hole). */
  readonly size: number;
  /** Copies bytes to guest physical address gpa; throws RangeError outside [0, size). */
  write(gpa: number, bytes: Uint8Array): void;
  /** Sets length bytes from gpa to value (0–255); throws RangeError outside [0, size). */
  fill(gpa: number, length: number, value: number): void;
}
