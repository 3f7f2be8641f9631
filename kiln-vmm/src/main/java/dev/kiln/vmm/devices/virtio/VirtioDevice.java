package dev.kiln.vmm.devices.virtio;

import dev.kiln.vmm.memory.GuestMemory;
import java.util.List;

/**
 * The device-specific half of a virtio device: its type, features, configuration space and request
 * handling. {@link MmioTransport} provides the transport half. Calls for one device come from one
 * thread at a time (a vCPU for configuration, the event loop for queues).
 */
public interface VirtioDevice {
  /** Returns the virtio device id, such as {@link VirtioSpec#DEVICE_ID_BLOCK}. */
  int deviceType();

  /** Returns the feature bits the device offers, {@code VIRTIO_F_VERSION_1} included. */
  long availableFeatures();

  /** Returns the device's queues, created once with their maximum sizes. */
  List<Virtqueue> queues();

  /** Returns {@code size} bytes of the configuration space at {@code offset}, little-endian. */
  long readConfig(int offset, int size);

  /** Handles a driver write to the configuration space; most devices ignore it. */
  default void writeConfig(int offset, int size, long value) {}

  /**
   * Starts the device after the driver set {@code DRIVER_OK}: the queues are active and {@code
   * interrupt} raises the device's used-buffer interrupt.
   *
   * @param features the features the driver accepted
   */
  void activate(GuestMemory memory, long features, VirtioInterrupt interrupt);

  /** Handles the driver's notification that queue {@code index} has new buffers. */
  void processQueue(int index);

  /** Stops the device and drops its state, as after a status write of 0. */
  void reset();
}
