package dev.kiln.vmm.devices.virtio;

/**
 * One buffer of a descriptor chain (virtio 1.2, 2.7.5), already checked to lie inside guest RAM.
 *
 * @param address the guest-physical address
 * @param length the length in bytes
 * @param writable true when the device writes the buffer ({@code VIRTQ_DESC_F_WRITE})
 */
public record Descriptor(long address, int length, boolean writable) {}
