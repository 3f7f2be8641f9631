package dev.kiln.vmm.devices.virtio.vsock;

/**
 * Constants of the virtio socket device (virtio 1.2, 5.10) and the values Kiln chooses for it.
 * Operation, type and flag values match linux/virtio_vsock.h.
 */
public final class VirtioVsockSpec {
  /** The queue of buffers the driver gives for packets to the guest. */
  public static final int RX_QUEUE = 0;

  /** The queue of packets from the guest. */
  public static final int TX_QUEUE = 1;

  /** The queue of buffers for device events, used only for a transport reset. */
  public static final int EVENT_QUEUE = 2;

  /** The maximum size of each of the three queues. */
  public static final int QUEUE_SIZE = 256;

  /** The size of {@code struct virtio_vsock_hdr} (virtio 1.2, 5.10.6). */
  public static final int HEADER_SIZE = 44;

  /** The context id of the host (linux/vm_sockets.h {@code VMADDR_CID_HOST}). */
  public static final long VMADDR_CID_HOST = 2;

  /** The lowest context id a guest may have: 0, 1 and 2 are reserved. */
  public static final long MIN_GUEST_CID = 3;

  /** The connection-oriented socket type, the only one this device offers. */
  public static final int VIRTIO_VSOCK_TYPE_STREAM = 1;

  public static final int VIRTIO_VSOCK_OP_REQUEST = 1;
  public static final int VIRTIO_VSOCK_OP_RESPONSE = 2;
  public static final int VIRTIO_VSOCK_OP_RST = 3;
  public static final int VIRTIO_VSOCK_OP_SHUTDOWN = 4;
  public static final int VIRTIO_VSOCK_OP_RW = 5;
  public static final int VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6;
  public static final int VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7;

  /** SHUTDOWN flag: the sender will receive no more data. */
  public static final int VIRTIO_VSOCK_SHUTDOWN_RCV = 1;

  /** SHUTDOWN flag: the sender will send no more data. */
  public static final int VIRTIO_VSOCK_SHUTDOWN_SEND = 2;

  /**
   * The largest payload of one packet in either direction, as Linux's {@code
   * VIRTIO_VSOCK_MAX_PKT_BUF_SIZE} and Firecracker's {@code MAX_PKT_BUF_SIZE}.
   */
  public static final int MAX_PACKET_DATA = 64 * 1024;

  private VirtioVsockSpec() {}

  /** Returns the operation's name without its prefix, such as {@code RW}, for logs. */
  public static String opName(int op) {
    return switch (op) {
      case VIRTIO_VSOCK_OP_REQUEST -> "REQUEST";
      case VIRTIO_VSOCK_OP_RESPONSE -> "RESPONSE";
      case VIRTIO_VSOCK_OP_RST -> "RST";
      case VIRTIO_VSOCK_OP_SHUTDOWN -> "SHUTDOWN";
      case VIRTIO_VSOCK_OP_RW -> "RW";
      case VIRTIO_VSOCK_OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
      case VIRTIO_VSOCK_OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
      default -> "op " + op;
    };
  }
}
