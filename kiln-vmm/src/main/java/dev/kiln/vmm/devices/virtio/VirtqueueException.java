package dev.kiln.vmm.devices.virtio;

/**
 * A driver broke the virtqueue rules: a descriptor outside guest RAM, a chain that loops or is
 * longer than the queue, an available index that runs ahead of the queue size. Guest input causes
 * it, so the device fails the request or requests a reset; the VMM keeps running.
 */
public final class VirtqueueException extends Exception {
  /** Creates the exception with a message naming the queue and the bad value. */
  public VirtqueueException(String message) {
    super(message);
  }
}
