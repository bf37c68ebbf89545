/**
 * Where a virtio-net device's Ethernet frames go and come from: a tap device on the host (TapBackend), or an
 * in-process link to another device.
 * Frames are whole Ethernet frames without the virtio-net header.
 */
export interface NetBackend {
  /** A frame the guest transmitted. The backend may drop it (a full link), never block. */
  send(frame: Uint8Array): void;
  /** Registers the one receiver of frames for the guest. */
  onReceive(listener: (frame: Uint8Array) => void): void;
}

/**
 * A virtual cable: what one end sends, the other receives, delivered on a later turn of the event loop (as a
 * real link would, never re-entering the sender). Connects two virtio-net devices in one engine, or in tests.
 */
export function createLinkPair(): [NetBackend, NetBackend] {
  const listeners: ((frame: Uint8Array) => void)[] = [() => undefined, () => undefined];
  const end = (self: number): NetBackend => ({
    send: (frame) => {
      const copy = Uint8Array.from(frame);
      setImmediate(() => listeners[1 - self](copy));
    },
    onReceive: (listener) => {
      listeners[self] = listener;
    },
  });
  return [end(0), end(1)];
}
