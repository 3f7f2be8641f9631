package dev.kiln.vmm.devices.virtio.block;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters of one block device, named as in Firecracker's block metrics ({@code
 * BlockDeviceMetrics}) so that a metrics file reads the same. Each counter only grows.
 * Firecracker's latency aggregates {@code read_agg} and {@code write_agg} and its {@code
 * remaining_reqs_count} are not kept.
 *
 * <p>NOTE: {@code execute_fails} and {@code invalid_reqs_count} count what their names say. That
 * differs from Firecracker (main branch), which counts chains it cannot parse as {@code
 * execute_fails} and every request that gets an IOERR or UNSUPP status, file errors included, as
 * {@code invalid_reqs_count}.
 */
public final class BlockMetrics {
  /** Activations that left the device unable to work, such as a request queue not made ready. */
  public final AtomicLong activateFails = new AtomicLong();

  /** Configuration space accesses outside the fields the device has, and all writes to it. */
  public final AtomicLong cfgFails = new AtomicLong();

  /** Queue notifications that found no new request in the available ring. */
  public final AtomicLong noAvailBuffer = new AtomicLong();

  /** Queue notifications that ended in a virtqueue error and a device reset request. */
  public final AtomicLong eventFails = new AtomicLong();

  /** Valid requests that the host failed to carry out: a read, write or flush error on the file. */
  public final AtomicLong executeFails = new AtomicLong();

  /**
   * Requests rejected because of the driver: malformed chains, out-of-range or misaligned
   * transfers, writes to a read-only drive, unsupported types.
   */
  public final AtomicLong invalidReqsCount = new AtomicLong();

  /** Flush requests carried out. */
  public final AtomicLong flushCount = new AtomicLong();

  /** Queue notifications handled while the device was active. */
  public final AtomicLong queueEventCount = new AtomicLong();

  /** Rate limiter timer expiries, each followed by another pass over the queue. */
  public final AtomicLong rateLimiterEventCount = new AtomicLong();

  /** Backing files swapped through the API ({@code PATCH /drives/{id}} with path_on_host). */
  public final AtomicLong updateCount = new AtomicLong();

  /** Backing file swaps through the API that failed; the drive kept its old file. */
  public final AtomicLong updateFails = new AtomicLong();

  /** Bytes read from the backing file into guest memory. */
  public final AtomicLong readBytes = new AtomicLong();

  /** Bytes written from guest memory to the backing file. */
  public final AtomicLong writeBytes = new AtomicLong();

  /** Successful read requests. */
  public final AtomicLong readCount = new AtomicLong();

  /** Successful write requests. */
  public final AtomicLong writeCount = new AtomicLong();

  /** Passes over the queue that the rate limiter stopped, leaving a request in the ring. */
  public final AtomicLong rateLimiterThrottledEvents = new AtomicLong();

  /** Passes over the queue that stopped because the Async engine had its ring full. */
  public final AtomicLong ioEngineThrottledEvents = new AtomicLong();

  /** Returns every counter by its Firecracker name, in Firecracker's order. */
  public Map<String, Long> snapshot() {
    Map<String, Long> values = new LinkedHashMap<>();
    values.put("activate_fails", activateFails.get());
    values.put("cfg_fails", cfgFails.get());
    values.put("no_avail_buffer", noAvailBuffer.get());
    values.put("event_fails", eventFails.get());
    values.put("execute_fails", executeFails.get());
    values.put("invalid_reqs_count", invalidReqsCount.get());
    values.put("flush_count", flushCount.get());
    values.put("queue_event_count", queueEventCount.get());
    values.put("rate_limiter_event_count", rateLimiterEventCount.get());
    values.put("update_count", updateCount.get());
    values.put("update_fails", updateFails.get());
    values.put("read_bytes", readBytes.get());
    values.put("write_bytes", writeBytes.get());
    values.put("read_count", readCount.get());
    values.put("write_count", writeCount.get());
    values.put("rate_limiter_throttled_events", rateLimiterThrottledEvents.get());
    values.put("io_engine_throttled_events", ioEngineThrottledEvents.get());
    return values;
  }
}
