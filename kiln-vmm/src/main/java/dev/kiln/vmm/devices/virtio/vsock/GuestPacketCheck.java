package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.MAX_PACKET_DATA;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_CREDIT_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RW;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_SHUTDOWN;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_RCV;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_SEND;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_TYPE_STREAM;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VMADDR_CID_HOST;

/**
 * The checks on a packet header from the guest, before the device acts on it. A packet with wrong
 * addresses or a length that does not fit is dropped. A well-formed packet of a type or operation
 * this device does not have gets an RST, as the Linux driver expects from a peer.
 *
 * @param action what the device does with the packet
 * @param reason why it is not accepted, for the log; empty when accepted
 */
public record GuestPacketCheck(Action action, String reason) {
  /** What the device does with a packet. */
  public enum Action {
    /** Handle the packet. */
    ACCEPT,
    /** Drop it without a reply. */
    DROP,
    /** Drop it and reply with an RST to its sender. */
    RESET
  }

  private static final GuestPacketCheck ACCEPTED = new GuestPacketCheck(Action.ACCEPT, "");

  /**
   * Checks a header from the tx queue.
   *
   * @param guestCid the guest's configured context id
   * @param dataBytes the device-readable bytes in the chain after the header
   */
  public static GuestPacketCheck of(VsockPacketHeader header, long guestCid, long dataBytes) {
    if (header.srcCid() != guestCid) {
      return drop(
          "source CID %s is not the guest's CID %d",
          Long.toUnsignedString(header.srcCid()), guestCid);
    }
    if (header.dstCid() != VMADDR_CID_HOST) {
      return drop(
          "destination CID %s is not the host's CID %d",
          Long.toUnsignedString(header.dstCid()), VMADDR_CID_HOST);
    }
    long length = header.unsignedLength();
    if (length > MAX_PACKET_DATA) {
      return drop("length %d is more than the maximum packet data %d", length, MAX_PACKET_DATA);
    }
    if (length > dataBytes) {
      return drop("length %d is more than the %d bytes the chain holds", length, dataBytes);
    }
    if (header.op() != VIRTIO_VSOCK_OP_RW && length != 0) {
      return drop(
          "%s packet has length %d; only RW packets carry data",
          VirtioVsockSpec.opName(header.op()), length);
    }
    if (header.type() != VIRTIO_VSOCK_TYPE_STREAM) {
      return new GuestPacketCheck(
          Action.RESET, "socket type " + header.type() + " is not STREAM (1)");
    }
    if (header.op() < VIRTIO_VSOCK_OP_REQUEST || header.op() > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
      return new GuestPacketCheck(Action.RESET, "unknown operation " + header.op());
    }
    int shutdownFlags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
    if (header.op() == VIRTIO_VSOCK_OP_SHUTDOWN && (header.flags() & ~shutdownFlags) != 0) {
      return drop("SHUTDOWN flags %#x have bits other than RCV (1) and SEND (2)", header.flags());
    }
    return ACCEPTED;
  }

  private static GuestPacketCheck drop(String format, Object... arguments) {
    return new GuestPacketCheck(Action.DROP, String.format(format, arguments));
  }
}
