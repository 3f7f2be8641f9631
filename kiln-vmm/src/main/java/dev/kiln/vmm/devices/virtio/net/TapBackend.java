package dev.kiln.vmm.devices.virtio.net;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Tap;
import dev.kiln.vmm.devices.EventLoop;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** A {@link TapIo} over a real {@link Tap}, watched by an {@link EventLoop}. */
public final class TapBackend implements TapIo {
  private final Tap tap;
  private EventLoop loop;

  /** Wraps an open TAP; {@link #register} must follow before the device is activated. */
  public TapBackend(Tap tap) {
    this.tap = tap;
  }

  /**
   * Opens the TAP for a network device: non-blocking, with 12-byte virtio-net headers.
   *
   * @throws SyscallException when it cannot be opened; {@link Tap#hint} says why
   */
  public static TapBackend open(String hostDevName) throws SyscallException {
    // A frame of MAX_BUFFER_SIZE bytes can come in at most one buffer per descriptor of a chain,
    // and a chain has at most as many descriptors as the queue.
    return new TapBackend(Tap.open(hostDevName, VirtioNetSpec.HEADER_SIZE, NetDevice.QUEUE_SIZE));
  }

  /** Returns the TAP's descriptor. */
  public int fd() {
    return tap.fd();
  }

  /** Registers the TAP with {@code loop}, unwatched, so that {@code onReadable} runs for frames. */
  public void register(EventLoop loop, Runnable onReadable) throws SyscallException {
    loop.register(tap.fd(), onReadable, false);
    this.loop = loop;
  }

  @Override
  public int read(MemorySegment buffer) throws SyscallException {
    return tap.read(buffer);
  }

  @Override
  public long write(List<MemorySegment> segments) throws SyscallException {
    return tap.write(segments);
  }

  @Override
  public void setOffload(int flags) throws SyscallException {
    tap.setOffload(flags);
  }

  @Override
  public void watch(boolean watched) throws SyscallException {
    if (loop != null) {
      loop.watch(tap.fd(), watched);
    }
  }

  @Override
  public String name() {
    return tap.name();
  }

  @Override
  public void close() throws SyscallException {
    tap.close();
  }
}
