package dev.kiln.vmm.devices.virtio.net;

import dev.kiln.sys.Tap;
import dev.kiln.vmm.devices.virtio.VirtioSpec;

/** Constants of the virtio network device (virtio 1.2, 5.1) and how they map to TAP offloads. */
public final class VirtioNetSpec {
  // Feature bits (virtio 1.2, 5.1.3).
  public static final int VIRTIO_NET_F_CSUM = 0;
  public static final int VIRTIO_NET_F_GUEST_CSUM = 1;
  public static final int VIRTIO_NET_F_MTU = 3;
  public static final int VIRTIO_NET_F_MAC = 5;
  public static final int VIRTIO_NET_F_GUEST_TSO4 = 7;
  public static final int VIRTIO_NET_F_GUEST_TSO6 = 8;
  public static final int VIRTIO_NET_F_GUEST_ECN = 9;
  public static final int VIRTIO_NET_F_GUEST_UFO = 10;
  public static final int VIRTIO_NET_F_HOST_TSO4 = 11;
  public static final int VIRTIO_NET_F_HOST_TSO6 = 12;
  public static final int VIRTIO_NET_F_HOST_UFO = 14;
  public static final int VIRTIO_NET_F_MRG_RXBUF = 15;
  public static final int VIRTIO_NET_F_STATUS = 16;

  // struct virtio_net_config (virtio 1.2, 5.1.4): mac[6], status, max_virtqueue_pairs, mtu.
  public static final int CONFIG_MAC = 0;
  public static final int CONFIG_STATUS = 6;
  public static final int CONFIG_MAX_VIRTQUEUE_PAIRS = 8;
  public static final int CONFIG_MTU = 10;
  public static final int CONFIG_SIZE = 12;

  /** The status field's link-up bit. */
  public static final int VIRTIO_NET_S_LINK_UP = 1;

  /**
   * The size of {@code struct virtio_net_hdr_v1}, the header in front of every frame once {@code
   * VIRTIO_F_VERSION_1} is negotiated, with or without mergeable receive buffers (5.1.6).
   */
  public static final int HEADER_SIZE = 12;

  /** The offset of {@code num_buffers} in the header. */
  public static final int HEADER_NUM_BUFFERS = 10;

  /**
   * The largest frame, header included, that the device moves in either direction: a 64 KiB GSO
   * packet with its Ethernet and VLAN headers and the virtio-net header, Firecracker's {@code
   * MAX_BUFFER_SIZE}.
   */
  public static final int MAX_BUFFER_SIZE = 65562;

  /**
   * The smallest receive chain without mergeable buffers when the guest takes no segmentation
   * offload: a 1514-byte Ethernet frame and the header, as Firecracker requires.
   */
  public static final int MIN_SMALL_RX_CHAIN = 1526;

  /** The features offered always: Firecracker's set. */
  public static final long BASE_FEATURES =
      VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
          | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX)
          | VirtioSpec.feature(VIRTIO_NET_F_CSUM)
          | VirtioSpec.feature(VIRTIO_NET_F_GUEST_CSUM)
          | VirtioSpec.feature(VIRTIO_NET_F_GUEST_TSO4)
          | VirtioSpec.feature(VIRTIO_NET_F_GUEST_TSO6)
          | VirtioSpec.feature(VIRTIO_NET_F_GUEST_UFO)
          | VirtioSpec.feature(VIRTIO_NET_F_HOST_TSO4)
          | VirtioSpec.feature(VIRTIO_NET_F_HOST_TSO6)
          | VirtioSpec.feature(VIRTIO_NET_F_HOST_UFO)
          | VirtioSpec.feature(VIRTIO_NET_F_MRG_RXBUF);

  private VirtioNetSpec() {}

  /** Returns whether {@code features} has feature {@code bit}. */
  public static boolean has(long features, int bit) {
    return (features & VirtioSpec.feature(bit)) != 0;
  }

  /**
   * Returns the TUNSETOFFLOAD flags for the features the driver accepted: what the TAP may hand the
   * guest. Partial checksums need {@code GUEST_CSUM}; TSO and UFO packets need the matching {@code
   * GUEST_*} feature. The kernel ignores TSO flags without {@link Tap#TUN_F_CSUM}, as the spec
   * makes {@code GUEST_TSO*} depend on {@code GUEST_CSUM}.
   */
  public static int tapOffloadFlags(long negotiated) {
    int flags = 0;
    if (has(negotiated, VIRTIO_NET_F_GUEST_CSUM)) {
      flags |= Tap.TUN_F_CSUM;
    }
    if (has(negotiated, VIRTIO_NET_F_GUEST_TSO4)) {
      flags |= Tap.TUN_F_TSO4;
    }
    if (has(negotiated, VIRTIO_NET_F_GUEST_TSO6)) {
      flags |= Tap.TUN_F_TSO6;
    }
    if (has(negotiated, VIRTIO_NET_F_GUEST_UFO)) {
      flags |= Tap.TUN_F_UFO;
    }
    return flags;
  }

  /**
   * Returns the smallest receive chain the device uses with these features, as Firecracker decides
   * it: with mergeable buffers any chain that holds the header; without them, one chain must hold a
   * whole frame, up to 64 KiB when the guest takes segmentation offloads.
   */
  public static int minimumRxChain(long negotiated) {
    if (has(negotiated, VIRTIO_NET_F_MRG_RXBUF)) {
      return HEADER_SIZE;
    }
    if (has(negotiated, VIRTIO_NET_F_GUEST_TSO4)
        || has(negotiated, VIRTIO_NET_F_GUEST_TSO6)
        || has(negotiated, VIRTIO_NET_F_GUEST_UFO)) {
      return MAX_BUFFER_SIZE;
    }
    return MIN_SMALL_RX_CHAIN;
  }
}
