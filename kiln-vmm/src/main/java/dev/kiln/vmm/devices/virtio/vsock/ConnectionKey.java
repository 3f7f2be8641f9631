package dev.kiln.vmm.devices.virtio.vsock;

/**
 * Identifies a connection: the port on the host side and the port on the guest side. Both are
 * unsigned 32-bit values kept in ints.
 *
 * @param localPort the host-side port: the port the guest connected to, or the one Kiln assigned to
 *     a host-initiated connection
 * @param peerPort the guest-side port
 */
record ConnectionKey(int localPort, int peerPort) {
  @Override
  public String toString() {
    return Integer.toUnsignedString(localPort) + "<->" + Integer.toUnsignedString(peerPort);
  }
}
