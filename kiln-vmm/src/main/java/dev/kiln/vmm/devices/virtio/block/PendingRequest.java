package dev.kiln.vmm.devices.virtio.block;

/**
 * A request that an {@link AsyncEngine} carries out in the background: what its completion needs to
 * finish it.
 *
 * @param head the index of the chain's head descriptor, for the used ring
 * @param request the parsed request, for its type, length and status byte
 */
record PendingRequest(int head, BlockRequest request) {}
