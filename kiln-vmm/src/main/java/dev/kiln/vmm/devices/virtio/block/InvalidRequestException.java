package dev.kiln.vmm.devices.virtio.block;

/**
 * A descriptor chain that does not form a virtio block request (virtio 1.2, 5.2.6): no byte for the
 * status, a header shorter than 16 bytes, or data buffers in the wrong direction for the request
 * type. The driver caused it, so the device fails the request and carries on.
 */
final class InvalidRequestException extends Exception {
  /** Marks {@link #statusAddress()} when the chain has no device-writable byte for the status. */
  static final long NO_STATUS = -1;

  private final long statusAddress;

  /**
   * @param statusAddress the guest address of the status byte, or {@link #NO_STATUS}
   */
  InvalidRequestException(String message, long statusAddress) {
    super(message);
    this.statusAddress = statusAddress;
  }

  /** Returns the guest address of the status byte, or {@link #NO_STATUS} when there is none. */
  long statusAddress() {
    return statusAddress;
  }
}
