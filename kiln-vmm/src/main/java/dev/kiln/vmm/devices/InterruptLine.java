package dev.kiln.vmm.devices;

/** An edge-triggered interrupt into the guest, such as an irqfd bound to an IOAPIC pin. */
@FunctionalInterface
public interface InterruptLine {
  /** Raises the interrupt once. */
  void trigger();
}
