package dev.kiln.vmm.devices.virtio.net;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What the network device needs of its host side: a TAP with virtio-net headers and the event
 * loop's watch on it. {@link TapBackend} is the real one; tests use a fake.
 */
public interface TapIo extends AutoCloseable {
  /**
   * Reads one frame, header first, into {@code buffer}; returns its length, or -1 when none waits.
   */
  int read(MemorySegment buffer) throws IOException;

  /**
   * Writes one frame, header first, gathered from {@code segments}; returns the bytes written, or
   * -1 when the TAP cannot take it now.
   */
  long write(List<MemorySegment> segments) throws IOException;

  /** Sets the TUNSETOFFLOAD flags. */
  void setOffload(int flags) throws IOException;

  /**
   * Starts or stops the event loop's calls to the device when the TAP has frames. The device stops
   * them while it cannot take a frame, since the TAP stays readable until it is read.
   */
  void watch(boolean watched) throws IOException;

  /** Returns the host interface name, for logs. */
  String name();

  @Override
  void close() throws IOException;
}
