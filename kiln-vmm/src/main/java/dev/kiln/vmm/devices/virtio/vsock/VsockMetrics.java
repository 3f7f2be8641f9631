package dev.kiln.vmm.devices.virtio.vsock;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters of the vsock device, named as in Firecracker's {@code VsockDeviceMetrics} so that a
 * metrics file reads the same. In Firecracker's naming rx is the direction to the guest and tx the
 * direction from it. Each counter only grows. Kiln adds {@code invalid_pkts_count}, which
 * Firecracker does not have, after Firecracker's names.
 */
public final class VsockMetrics {
  /** Activations that left the device unable to work, such as a queue not made ready. */
  public final AtomicLong activateFails = new AtomicLong();

  /** Configuration space reads outside {@code guest_cid}, and all writes to it. */
  public final AtomicLong cfgFails = new AtomicLong();

  /** Passes over the rx queue that ended in a virtqueue error and a device reset request. */
  public final AtomicLong rxQueueEventFails = new AtomicLong();

  /** Passes over the tx queue that ended in a virtqueue error and a device reset request. */
  public final AtomicLong txQueueEventFails = new AtomicLong();

  /**
   * Event queue notifications that found the device inactive; the queue is otherwise left alone.
   */
  public final AtomicLong evQueueEventFails = new AtomicLong();

  /**
   * Failed events on the listening socket and on host connections still sending their {@code
   * CONNECT} line: accept errors, malformed lines, timeouts, rejections at the connection limits.
   */
  public final AtomicLong muxerEventFails = new AtomicLong();

  /**
   * Host socket events of established connections that ended the connection because of an error.
   */
  public final AtomicLong connEventFails = new AtomicLong();

  /** Rx queue notifications: the driver added receive buffers. */
  public final AtomicLong rxQueueEventCount = new AtomicLong();

  /** Tx queue notifications: the driver sent packets. */
  public final AtomicLong txQueueEventCount = new AtomicLong();

  /** Payload bytes delivered to the guest. */
  public final AtomicLong rxBytesCount = new AtomicLong();

  /** Payload bytes taken from the guest. */
  public final AtomicLong txBytesCount = new AtomicLong();

  /** Packets delivered to the guest, data and control. */
  public final AtomicLong rxPacketsCount = new AtomicLong();

  /** Packets taken from the guest, invalid ones included. */
  public final AtomicLong txPacketsCount = new AtomicLong();

  /** Connections created, from either side. */
  public final AtomicLong connsAdded = new AtomicLong();

  /** Connections ended by the device because of an error or a timeout, not by a clean close. */
  public final AtomicLong connsKilled = new AtomicLong();

  /** Connections removed, however they ended. */
  public final AtomicLong connsRemoved = new AtomicLong();

  /**
   * Firecracker's kill queue overflows; Kiln checks every connection's deadline directly, so this
   * stays at 0.
   */
  public final AtomicLong killqResync = new AtomicLong();

  /** Failed sends of buffered guest data to a host socket. */
  public final AtomicLong txFlushFails = new AtomicLong();

  /** Failed direct sends of guest data to a host socket. */
  public final AtomicLong txWriteFails = new AtomicLong();

  /** Failed reads from a host socket. */
  public final AtomicLong rxReadFails = new AtomicLong();

  /**
   * Packets from the guest that failed the header checks or broke the connection protocol (Kiln's
   * counter).
   */
  public final AtomicLong invalidPktsCount = new AtomicLong();

  /** Returns every counter by its Firecracker name, in Firecracker's order, then Kiln's own. */
  public Map<String, Long> snapshot() {
    Map<String, Long> values = new LinkedHashMap<>();
    values.put("activate_fails", activateFails.get());
    values.put("cfg_fails", cfgFails.get());
    values.put("rx_queue_event_fails", rxQueueEventFails.get());
    values.put("tx_queue_event_fails", txQueueEventFails.get());
    values.put("ev_queue_event_fails", evQueueEventFails.get());
    values.put("muxer_event_fails", muxerEventFails.get());
    values.put("conn_event_fails", connEventFails.get());
    values.put("rx_queue_event_count", rxQueueEventCount.get());
    values.put("tx_queue_event_count", txQueueEventCount.get());
    values.put("rx_bytes_count", rxBytesCount.get());
    values.put("tx_bytes_count", txBytesCount.get());
    values.put("rx_packets_count", rxPacketsCount.get());
    values.put("tx_packets_count", txPacketsCount.get());
    values.put("conns_added", connsAdded.get());
    values.put("conns_killed", connsKilled.get());
    values.put("conns_removed", connsRemoved.get());
    values.put("killq_resync", killqResync.get());
    values.put("tx_flush_fails", txFlushFails.get());
    values.put("tx_write_fails", txWriteFails.get());
    values.put("rx_read_fails", rxReadFails.get());
    values.put("invalid_pkts_count", invalidPktsCount.get());
    return values;
  }
}
