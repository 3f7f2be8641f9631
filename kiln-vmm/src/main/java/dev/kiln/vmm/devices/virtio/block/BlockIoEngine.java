package dev.kiln.vmm.devices.virtio.block;

import dev.kiln.vmm.config.DriveConfig;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The part of a block device that moves data between guest memory and the backing file: {@link
 * SyncEngine} with blocking calls on the device thread, or {@link AsyncEngine} with io_uring. The
 * request parsing and checks in {@link RequestHandler} are the same for both.
 */
public sealed interface BlockIoEngine extends AutoCloseable permits SyncEngine, AsyncEngine {
  /** The result of a transfer that was submitted and completes later through the engine. */
  long SUBMITTED = -1;

  /**
   * Creates the engine a drive's {@code io_engine} names, on an open backend.
   *
   * @throws IOException when the Async engine cannot set up io_uring; the message explains why and
   *     what to change
   */
  static BlockIoEngine open(DriveConfig.IoEngine setting, FileBackend backend) throws IOException {
    return switch (setting) {
      case SYNC -> new SyncEngine(backend);
      case ASYNC -> AsyncEngine.open(backend.path(), backend.readOnly());
    };
  }

  /** Returns the {@code io_engine} this engine implements. */
  DriveConfig.IoEngine kind();

  /** Returns false when the engine cannot take another request until some complete. */
  boolean hasCapacity();

  /**
   * Fills the segments, in order, from the file at byte {@code offset}, or submits the read.
   *
   * @param pending the request the read belongs to, returned with its completion
   * @return the bytes read, or {@link #SUBMITTED}
   * @throws IOException when the read fails or cannot be submitted
   */
  long read(long offset, List<MemorySegment> segments, PendingRequest pending) throws IOException;

  /** Writes the segments, in order, to the file at byte {@code offset}, as {@link #read}. */
  long write(long offset, List<MemorySegment> segments, PendingRequest pending) throws IOException;

  /**
   * Commits the file's written data to storage ({@code fdatasync}), or submits that.
   *
   * @return 0, or {@link #SUBMITTED}
   */
  long flush(PendingRequest pending) throws IOException;

  /** Hands the requests prepared since the last call to the kernel; the Sync engine has none. */
  void submit();

  /** Waits for the requests in flight, drops their results and releases the engine. */
  @Override
  void close() throws IOException;
}
