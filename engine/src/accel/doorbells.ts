/**
 * Guest writes the accelerator turns into a callback on the loop thread without a vCPU exit: KVM's ioeventfd, the
 * fast path for virtio queue notifies (DESIGN.md). An accelerator without them (emulated) leaves such writes to
 * mmio-write exits, which reach the same device code.
 */
export interface Doorbell {
  /** Stops ringing; writes to the address are mmio-write exits again. Safe to call twice. */
  remove(): void;
}

export interface Doorbells {
  /** Calls onRing after guest writes of `size` bytes to `gpa` (several writes may ring once). */
  add(gpa: number, size: number, onRing: () => void): Doorbell;
}
