package dev.kiln.vmm.loader;

/**
 * An initial RAM disk copied into guest memory, as the boot tables must describe it.
 *
 * @param address the guest-physical address of its first byte, 4 KiB aligned
 * @param size its size in bytes, the size of the file
 */
public record Initrd(long address, long size) {}
