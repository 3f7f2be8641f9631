package dev.kiln.vmm.devices.virtio.block;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host file or block device behind a virtio block device. Transfers go straight between the
 * file and guest memory segments, with no copy in between, and use scatter/gather calls ({@code
 * readv}, {@code writev}) when a request has several buffers. Only whole 512-byte sectors are
 * addressable: the tail of a file whose size is not a multiple of 512 is never read or written.
 *
 * <p>Calls come from one thread at a time, because a transfer positions the channel first.
 */
public final class FileBackend implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FileBackend.class);

  private final Path path;
  private final FileChannel channel;
  private final boolean readOnly;
  private final long capacity;

  private FileBackend(Path path, FileChannel channel, boolean readOnly, long sizeBytes) {
    this.path = path;
    this.channel = channel;
    this.readOnly = readOnly;
    this.capacity = sizeBytes >>> VirtioBlockSpec.SECTOR_SHIFT;
  }

  /**
   * Opens a disk image or block device.
   *
   * @param readOnly opens the file for reading only; writes then fail
   * @throws IOException when the file cannot be opened or its size read; the message names the path
   */
  public static FileBackend open(Path path, boolean readOnly) throws IOException {
    FileChannel channel =
        readOnly
            ? FileChannel.open(path, StandardOpenOption.READ)
            : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    long size;
    try {
      // On Linux, JDK 25 returns the size of a block device here too (checked with a loop
      // device), not the 0 that fstat reports for it.
      size = channel.size();
    } catch (IOException e) {
      channel.close();
      throw new IOException("cannot read the size of " + path + ": " + e.getMessage(), e);
    }
    long tail = size % VirtioBlockSpec.SECTOR_SIZE;
    if (tail != 0) {
      LOG.warn(
          "{} is {} bytes, not a multiple of {}; the guest sees {} sectors and not the last {}"
              + " bytes",
          path,
          size,
          VirtioBlockSpec.SECTOR_SIZE,
          size >>> VirtioBlockSpec.SECTOR_SHIFT,
          tail);
    }
    return new FileBackend(path, channel, readOnly, size);
  }

  /** Returns the path the backend was opened from. */
  public Path path() {
    return path;
  }

  /** Returns true when the file was opened for reading only. */
  public boolean readOnly() {
    return readOnly;
  }

  /** Returns the number of whole 512-byte sectors in the file. */
  public long capacity() {
    return capacity;
  }

  /**
   * Fills the segments, in order, from the file starting at byte {@code offset}.
   *
   * @throws IllegalArgumentException when the range goes past the last whole sector
   * @throws IOException when the read fails or the file ends early, as when it was truncated
   */
  public void read(long offset, List<MemorySegment> segments) throws IOException {
    ByteBuffer[] buffers = buffers(segments);
    long remaining = checkRange(offset, buffers);
    channel.position(offset);
    while (remaining > 0) {
      long count = channel.read(buffers);
      if (count < 0) {
        throw new EOFException(
            String.format(
                "%s ended after %d bytes of a read at offset %d; was the file truncated?",
                path, channel.position() - offset, offset));
      }
      remaining -= count;
    }
  }

  /** Fills one segment from the file at byte {@code offset}, as {@link #read(long, List)}. */
  public void read(long offset, MemorySegment segment) throws IOException {
    read(offset, List.of(segment));
  }

  /**
   * Writes the segments, in order, to the file starting at byte {@code offset}.
   *
   * @throws IllegalArgumentException when the range goes past the last whole sector
   * @throws IOException when the write fails; a read-only backend always fails
   */
  public void write(long offset, List<MemorySegment> segments) throws IOException {
    if (readOnly) {
      throw new IOException(path + " is open read-only");
    }
    ByteBuffer[] buffers = buffers(segments);
    long remaining = checkRange(offset, buffers);
    channel.position(offset);
    while (remaining > 0) {
      remaining -= channel.write(buffers);
    }
  }

  /** Writes one segment to the file at byte {@code offset}, as {@link #write(long, List)}. */
  public void write(long offset, MemorySegment segment) throws IOException {
    write(offset, List.of(segment));
  }

  /**
   * Commits written data to the storage device ({@code fdatasync}). Writes never change the file's
   * size, so the data and the metadata needed to read it back are all that has to reach the disk.
   */
  public void flush() throws IOException {
    channel.force(false);
  }

  private static ByteBuffer[] buffers(List<MemorySegment> segments) {
    ByteBuffer[] buffers = new ByteBuffer[segments.size()];
    for (int i = 0; i < buffers.length; i++) {
      buffers[i] = segments.get(i).asByteBuffer();
    }
    return buffers;
  }

  private long checkRange(long offset, ByteBuffer[] buffers) {
    long length = 0;
    for (ByteBuffer buffer : buffers) {
      length += buffer.remaining();
    }
    long end = capacity << VirtioBlockSpec.SECTOR_SHIFT;
    if (offset < 0 || offset > end || length > end - offset) {
      throw new IllegalArgumentException(
          String.format(
              "transfer of %d bytes at offset %d is outside %s (%d bytes addressable)",
              length, offset, path, end));
    }
    return length;
  }

  /** Closes the file. */
  @Override
  public void close() throws IOException {
    channel.close();
  }
}
