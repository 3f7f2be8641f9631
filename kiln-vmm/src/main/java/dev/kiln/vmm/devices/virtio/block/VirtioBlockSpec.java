package dev.kiln.vmm.devices.virtio.block;

/** Constants of the virtio block device, from the virtio 1.2 specification, section 5.2. */
public final class VirtioBlockSpec {
  // Feature bits (virtio 1.2, 5.2.3).
  public static final int VIRTIO_BLK_F_SIZE_MAX = 1;
  public static final int VIRTIO_BLK_F_SEG_MAX = 2;
  public static final int VIRTIO_BLK_F_RO = 5;
  public static final int VIRTIO_BLK_F_FLUSH = 9;

  // Request types (virtio 1.2, 5.2.6).
  public static final int VIRTIO_BLK_T_IN = 0;
  public static final int VIRTIO_BLK_T_OUT = 1;
  public static final int VIRTIO_BLK_T_FLUSH = 4;
  public static final int VIRTIO_BLK_T_GET_ID = 8;

  // Request status values (virtio 1.2, 5.2.6).
  public static final int VIRTIO_BLK_S_OK = 0;
  public static final int VIRTIO_BLK_S_IOERR = 1;
  public static final int VIRTIO_BLK_S_UNSUPP = 2;

  /** The unit of {@code capacity} and of a request's {@code sector}, in bytes. */
  public static final int SECTOR_SIZE = 512;

  /** Log2 of {@link #SECTOR_SIZE}. */
  public static final int SECTOR_SHIFT = 9;

  /** The request header: {@code le32 type, le32 reserved, le64 sector}. */
  public static final int REQUEST_HEADER_SIZE = 16;

  /** The length of the device id a {@code VIRTIO_BLK_T_GET_ID} request returns. */
  public static final int VIRTIO_BLK_ID_BYTES = 20;

  // Configuration space offsets (virtio 1.2, 5.2.4, struct virtio_blk_config).
  public static final int CONFIG_CAPACITY = 0;
  public static final int CONFIG_SIZE_MAX = 8;
  public static final int CONFIG_SEG_MAX = 12;

  private VirtioBlockSpec() {}

  /** Returns the spec name of a request type for logs, or the number for an unknown type. */
  public static String typeName(int type) {
    return switch (type) {
      case VIRTIO_BLK_T_IN -> "IN";
      case VIRTIO_BLK_T_OUT -> "OUT";
      case VIRTIO_BLK_T_FLUSH -> "FLUSH";
      case VIRTIO_BLK_T_GET_ID -> "GET_ID";
      default -> "type " + Integer.toUnsignedString(type);
    };
  }
}
