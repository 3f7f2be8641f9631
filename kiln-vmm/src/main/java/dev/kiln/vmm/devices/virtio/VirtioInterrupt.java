package dev.kiln.vmm.devices.virtio;

/** Raises a virtio device's interrupt with the reason bits the driver reads in InterruptStatus. */
@FunctionalInterface
public interface VirtioInterrupt {
  /**
   * Sets {@code reasons} ({@link VirtioSpec#INTERRUPT_USED_BUFFER}, {@link
   * VirtioSpec#INTERRUPT_CONFIG_CHANGE}) and raises the interrupt.
   */
  void raise(int reasons);
}
