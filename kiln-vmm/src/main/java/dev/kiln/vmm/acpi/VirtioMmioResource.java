package dev.kiln.vmm.acpi;

/**
 * The guest-visible resources of one virtio-mmio device, as the DSDT describes them.
 *
 * @param address the first byte of its MMIO register window
 * @param size the window's length in bytes
 * @param irq its IOAPIC pin, which is also its global system interrupt
 */
public record VirtioMmioResource(long address, long size, int irq) {}
