package dev.kiln.vmm.devices.virtio.balloon;

/**
 * Constants of the virtio memory balloon device, from the virtio 1.2 specification, section 5.5.
 */
public final class VirtioBalloonSpec {
  // Feature bits (virtio 1.2, 5.5.3).
  public static final int VIRTIO_BALLOON_F_MUST_TELL_HOST = 0;
  public static final int VIRTIO_BALLOON_F_STATS_VQ = 1;
  public static final int VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 2;

  // Queue indexes (virtio 1.2, 5.5.2); statsq exists only with VIRTIO_BALLOON_F_STATS_VQ.
  public static final int INFLATEQ = 0;
  public static final int DEFLATEQ = 1;
  public static final int STATSQ = 2;

  // Configuration space offsets (virtio 1.2, 5.5.4): le32 num_pages, le32 actual.
  public static final int CONFIG_NUM_PAGES = 0;
  public static final int CONFIG_ACTUAL = 4;

  /** The configuration fields Kiln has: num_pages and actual. */
  public static final int CONFIG_SIZE = 8;

  /** The page size behind a page frame number in the inflate and deflate queues (5.5.6). */
  public static final int PAGE_SIZE = 4096;

  /** Log2 of {@link #PAGE_SIZE}: {@code VIRTIO_BALLOON_PFN_SHIFT} in linux/virtio_balloon.h. */
  public static final int PFN_SHIFT = 12;

  /** The size of one page frame number in the inflate and deflate buffers: le32. */
  public static final int PFN_SIZE = 4;

  /** 4 KiB pages per MiB, for converting {@code amount_mib} to {@code num_pages}. */
  public static final int PAGES_PER_MIB = (1 << 20) / PAGE_SIZE;

  /** The size of one statistic, {@code struct virtio_balloon_stat}: le16 tag, le64 val, packed. */
  public static final int STAT_SIZE = 10;

  // Statistic tags (virtio 1.2, 5.5.6.3).
  public static final int VIRTIO_BALLOON_S_SWAP_IN = 0;
  public static final int VIRTIO_BALLOON_S_SWAP_OUT = 1;
  public static final int VIRTIO_BALLOON_S_MAJFLT = 2;
  public static final int VIRTIO_BALLOON_S_MINFLT = 3;
  public static final int VIRTIO_BALLOON_S_MEMFREE = 4;
  public static final int VIRTIO_BALLOON_S_MEMTOT = 5;
  public static final int VIRTIO_BALLOON_S_AVAIL = 6;
  public static final int VIRTIO_BALLOON_S_CACHES = 7;
  public static final int VIRTIO_BALLOON_S_HTLB_PGALLOC = 8;
  public static final int VIRTIO_BALLOON_S_HTLB_PGFAIL = 9;

  private VirtioBalloonSpec() {}
}
