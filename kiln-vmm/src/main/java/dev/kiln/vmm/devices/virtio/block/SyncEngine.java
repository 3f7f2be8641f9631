package dev.kiln.vmm.devices.virtio.block;

import dev.kiln.vmm.config.DriveConfig;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The {@code Sync} engine: each transfer is a blocking call on the {@link FileBackend}, made on the
 * device thread, so every request is finished when {@link RequestHandler} returns.
 */
final class SyncEngine implements BlockIoEngine {
  private final FileBackend backend;

  SyncEngine(FileBackend backend) {
    this.backend = backend;
  }

  @Override
  public DriveConfig.IoEngine kind() {
    return DriveConfig.IoEngine.SYNC;
  }

  @Override
  public boolean hasCapacity() {
    return true;
  }

  @Override
  public long read(long offset, List<MemorySegment> segments, PendingRequest pending)
      throws IOException {
    backend.read(offset, segments);
    return totalBytes(segments);
  }

  @Override
  public long write(long offset, List<MemorySegment> segments, PendingRequest pending)
      throws IOException {
    backend.write(offset, segments);
    return totalBytes(segments);
  }

  @Override
  public long flush(PendingRequest pending) throws IOException {
    backend.flush();
    return 0;
  }

  @Override
  public void submit() {}

  /** Does nothing: the device closes the backend. */
  @Override
  public void close() {}

  private static long totalBytes(List<MemorySegment> segments) {
    long total = 0;
    for (MemorySegment segment : segments) {
      total += segment.byteSize();
    }
    return total;
  }
}
