package dev.kiln.vmm.devices.virtio;

/** Constants of the virtio 1.2 specification that the transport and queues share. */
public final class VirtioSpec {
  // Device status bits (virtio 1.2, 2.1).
  public static final int STATUS_ACKNOWLEDGE = 1;
  public static final int STATUS_DRIVER = 2;
  public static final int STATUS_DRIVER_OK = 4;
  public static final int STATUS_FEATURES_OK = 8;
  public static final int STATUS_DEVICE_NEEDS_RESET = 64;
  public static final int STATUS_FAILED = 128;

  // Reserved feature bits (virtio 1.2, 6).
  public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
  public static final int VIRTIO_RING_F_EVENT_IDX = 29;
  public static final int VIRTIO_F_VERSION_1 = 32;

  // Descriptor flags (virtio 1.2, 2.7.5).
  public static final int VIRTQ_DESC_F_NEXT = 1;
  public static final int VIRTQ_DESC_F_WRITE = 2;
  public static final int VIRTQ_DESC_F_INDIRECT = 4;

  /** Available ring flag: the driver does not want interrupts (virtio 1.2, 2.7.6). */
  public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

  /** Used ring flag: the device does not want notifications (virtio 1.2, 2.7.8). */
  public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

  // Interrupt status bits (virtio 1.2, 4.2.2).
  public static final int INTERRUPT_USED_BUFFER = 1;
  public static final int INTERRUPT_CONFIG_CHANGE = 2;

  // Device ids (virtio 1.2, 5).
  public static final int DEVICE_ID_NET = 1;
  public static final int DEVICE_ID_BLOCK = 2;
  public static final int DEVICE_ID_RNG = 4;
  public static final int DEVICE_ID_BALLOON = 5;
  public static final int DEVICE_ID_VSOCK = 19;

  private VirtioSpec() {}

  /** Returns a feature mask with the given bit set. */
  public static long feature(int bit) {
    return 1L << bit;
  }
}
