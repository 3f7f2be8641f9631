package dev.kiln.vmm.devices.virtio.net;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters of one network device, named as in Firecracker's net metrics ({@code
 * NetDeviceMetrics}) so that a metrics file reads the same. Each counter only grows. Byte counts
 * include the 12-byte virtio-net header of each frame, as Firecracker's do. Firecracker's latency
 * aggregate {@code tap_write_agg} is not kept; {@code mac_address_updates} and {@code
 * tx_spoofed_mac_count} stay at 0 because Kiln neither takes MAC writes nor inspects frames.
 */
public final class NetMetrics {
  /** Activations that left the device unable to work, or TUNSETOFFLOAD failures at activation. */
  public final AtomicLong activateFails = new AtomicLong();

  /** Configuration space accesses outside the fields the device has, and all writes to it. */
  public final AtomicLong cfgFails = new AtomicLong();

  /** MAC address changes through the configuration space; Kiln takes none, so this stays 0. */
  public final AtomicLong macAddressUpdates = new AtomicLong();

  /** Times a frame waited because the guest had not given enough receive buffers. */
  public final AtomicLong noRxAvailBuffer = new AtomicLong();

  /** Transmit queue notifications that found no new frame. */
  public final AtomicLong noTxAvailBuffer = new AtomicLong();

  /** Queue events that ended in a virtqueue error and a device reset request, or a host error. */
  public final AtomicLong eventFails = new AtomicLong();

  /** Receive queue notifications handled while the device was active. */
  public final AtomicLong rxQueueEventCount = new AtomicLong();

  /** Receive rate limiter timer expiries. */
  public final AtomicLong rxEventRateLimiterCount = new AtomicLong();

  /** Times the receive rate limiter held a frame back. */
  public final AtomicLong rxRateLimiterThrottled = new AtomicLong();

  /** TAP readiness events handled. */
  public final AtomicLong rxTapEventCount = new AtomicLong();

  /** Bytes delivered to the guest, headers included. */
  public final AtomicLong rxBytesCount = new AtomicLong();

  /** Frames delivered to the guest. */
  public final AtomicLong rxPacketsCount = new AtomicLong();

  /**
   * Receive errors: frames dropped (too large for the guest's buffers, shorter than a header) and
   * receive chains returned unused because they were malformed or too small.
   */
  public final AtomicLong rxFails = new AtomicLong();

  /** Successful frame deliveries to the guest. */
  public final AtomicLong rxCount = new AtomicLong();

  /** Reads from the TAP that failed with an error other than EAGAIN. */
  public final AtomicLong tapReadFails = new AtomicLong();

  /** Writes to the TAP that failed, the frame being dropped. */
  public final AtomicLong tapWriteFails = new AtomicLong();

  /** Bytes sent to the TAP, headers included. */
  public final AtomicLong txBytesCount = new AtomicLong();

  /** Transmit chains dropped as malformed: shorter than a header or longer than 65562 bytes. */
  public final AtomicLong txMalformedFrames = new AtomicLong();

  /** Transmit chains dropped because they had device-writable buffers. */
  public final AtomicLong txFails = new AtomicLong();

  /** Successful writes to the TAP. */
  public final AtomicLong txCount = new AtomicLong();

  /** Frames sent to the TAP. */
  public final AtomicLong txPacketsCount = new AtomicLong();

  /** Frames the TAP took only in part; a TAP takes a frame whole, so this stays 0. */
  public final AtomicLong txPartialReads = new AtomicLong();

  /** Transmit queue notifications handled while the device was active. */
  public final AtomicLong txQueueEventCount = new AtomicLong();

  /** Transmit rate limiter timer expiries. */
  public final AtomicLong txRateLimiterEventCount = new AtomicLong();

  /** Times the transmit rate limiter held a frame back. */
  public final AtomicLong txRateLimiterThrottled = new AtomicLong();

  /** Frames whose source MAC differs from guest_mac; Kiln does not check, so this stays 0. */
  public final AtomicLong txSpoofedMacCount = new AtomicLong();

  /** Firecracker's count of frames left in the transmit ring per pass; not kept, stays 0. */
  public final AtomicLong txRemainingReqsCount = new AtomicLong();

  /** Returns every counter by its Firecracker name, in Firecracker's order. */
  public Map<String, Long> snapshot() {
    Map<String, Long> values = new LinkedHashMap<>();
    values.put("activate_fails", activateFails.get());
    values.put("cfg_fails", cfgFails.get());
    values.put("mac_address_updates", macAddressUpdates.get());
    values.put("no_rx_avail_buffer", noRxAvailBuffer.get());
    values.put("no_tx_avail_buffer", noTxAvailBuffer.get());
    values.put("event_fails", eventFails.get());
    values.put("rx_queue_event_count", rxQueueEventCount.get());
    values.put("rx_event_rate_limiter_count", rxEventRateLimiterCount.get());
    values.put("rx_rate_limiter_throttled", rxRateLimiterThrottled.get());
    values.put("rx_tap_event_count", rxTapEventCount.get());
    values.put("rx_bytes_count", rxBytesCount.get());
    values.put("rx_packets_count", rxPacketsCount.get());
    values.put("rx_fails", rxFails.get());
    values.put("rx_count", rxCount.get());
    values.put("tap_read_fails", tapReadFails.get());
    values.put("tap_write_fails", tapWriteFails.get());
    values.put("tx_bytes_count", txBytesCount.get());
    values.put("tx_malformed_frames", txMalformedFrames.get());
    values.put("tx_fails", txFails.get());
    values.put("tx_count", txCount.get());
    values.put("tx_packets_count", txPacketsCount.get());
    values.put("tx_partial_reads", txPartialReads.get());
    values.put("tx_queue_event_count", txQueueEventCount.get());
    values.put("tx_rate_limiter_event_count", txRateLimiterEventCount.get());
    values.put("tx_rate_limiter_throttled", txRateLimiterThrottled.get());
    values.put("tx_spoofed_mac_count", txSpoofedMacCount.get());
    values.put("tx_remaining_reqs_count", txRemainingReqsCount.get());
    return values;
  }
}
