package dev.kiln.vmm.memory;

/**
 * An access to guest-physical memory that falls outside guest RAM, in part or in whole. Guest input
 * can cause it, so callers that handle guest requests catch it and fail the request.
 */
public final class GuestMemoryException extends RuntimeException {
  private final long address;
  private final long length;

  /** Creates the exception for an access of {@code length} bytes at {@code address}. */
  public GuestMemoryException(long address, long length, String reason) {
    super(String.format("guest memory access of %d bytes at %#x: %s", length, address, reason));
    this.address = address;
    this.length = length;
  }

  /** Returns the guest-physical address of the access. */
  public long address() {
    return address;
  }

  /** Returns the length of the access in bytes. */
  public long length() {
    return length;
  }
}
