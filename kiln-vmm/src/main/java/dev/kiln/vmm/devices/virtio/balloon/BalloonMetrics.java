package dev.kiln.vmm.devices.virtio.balloon;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters of the balloon device, named as in Firecracker's balloon metrics ({@code
 * BalloonDeviceMetrics}) so that a metrics file reads the same. Each counter only grows.
 */
public final class BalloonMetrics {
  /** Activations that left the device unable to work, such as an inflate queue not made ready. */
  public final AtomicLong activateFails = new AtomicLong();

  /** Inflate queue notifications handled while the device was active. */
  public final AtomicLong inflateCount = new AtomicLong();

  /** Statistics buffers the guest sent and the device recorded. */
  public final AtomicLong statsUpdatesCount = new AtomicLong();

  /** Statistics buffers that were malformed or arrived without the statistics queue. */
  public final AtomicLong statsUpdateFails = new AtomicLong();

  /** Deflate queue notifications handled while the device was active. */
  public final AtomicLong deflateCount = new AtomicLong();

  /** Queue notifications that ended in a virtqueue error and a device reset request. */
  public final AtomicLong eventFails = new AtomicLong();

  /** Returns every counter by its Firecracker name, in Firecracker's order. */
  public Map<String, Long> snapshot() {
    Map<String, Long> values = new LinkedHashMap<>();
    values.put("activate_fails", activateFails.get());
    values.put("inflate_count", inflateCount.get());
    values.put("stats_updates_count", statsUpdatesCount.get());
    values.put("stats_update_fails", statsUpdateFails.get());
    values.put("deflate_count", deflateCount.get());
    values.put("event_fails", eventFails.get());
    return values;
  }
}
