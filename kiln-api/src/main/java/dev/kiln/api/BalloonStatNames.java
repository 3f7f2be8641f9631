package dev.kiln.api;

import dev.kiln.vmm.devices.virtio.balloon.VirtioBalloonSpec;

/** Maps virtio-balloon statistic tags to the field names of Firecracker's BalloonStats. */
final class BalloonStatNames {
  private BalloonStatNames() {}

  /** Returns the API field name of statistic {@code tag}, or null for a tag it has none for. */
  static String name(int tag) {
    return switch (tag) {
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_SWAP_IN -> "swap_in";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_SWAP_OUT -> "swap_out";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_MAJFLT -> "major_faults";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_MINFLT -> "minor_faults";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMFREE -> "free_memory";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMTOT -> "total_memory";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_AVAIL -> "available_memory";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_CACHES -> "disk_caches";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_HTLB_PGALLOC -> "hugetlb_allocations";
      case VirtioBalloonSpec.VIRTIO_BALLOON_S_HTLB_PGFAIL -> "hugetlb_failures";
      default -> null;
    };
  }
}
