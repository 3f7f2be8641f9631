package dev.kiln.vmm.loader;

import dev.kiln.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A kernel or initrd file open for reading, with reads that are bounds-checked against the file
 * size. Every failure becomes a {@link KernelImageException} whose message starts with the label
 * ("kernel", "bzImage", "initrd") and the path.
 */
final class ImageFile implements AutoCloseable {
  private final Path path;
  private final String label;
  private final FileChannel channel;
  private final long size;

  private ImageFile(Path path, String label, FileChannel channel, long size) {
    this.path = path;
    this.label = label;
    this.channel = channel;
    this.size = size;
  }

  /**
   * Opens a regular file for reading.
   *
   * @param label the kind of file, such as "kernel", which starts every error message
   * @param setting the configuration field that names the file, for the fix in messages
   * @throws KernelImageException when the file is missing, unreadable or not a regular file
   */
  static ImageFile open(Path path, String label, String setting) throws KernelImageException {
    if (Files.isDirectory(path)) {
      throw new KernelImageException(
          path,
          "%s %s is a directory, not a file; set %s to a file".formatted(label, path, setting));
    }
    if (Files.exists(path) && !Files.isRegularFile(path)) {
      // Devices and pipes have no fixed contents, and opening a pipe can block.
      throw new KernelImageException(
          path,
          "%s %s is not a regular file (a device, pipe or socket); set %s to an image file"
              .formatted(label, path, setting));
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new KernelImageException(
          path, "%s %s not found; check %s".formatted(label, path, setting), e);
    } catch (AccessDeniedException e) {
      throw new KernelImageException(
          path,
          "%s %s is not readable: permission denied; make it readable by the user running Kiln"
              .formatted(label, path),
          e);
    } catch (IOException e) {
      throw new KernelImageException(
          path, "%s %s cannot be opened: %s".formatted(label, path, e.getMessage()), e);
    }
    try {
      return new ImageFile(path, label, channel, channel.size());
    } catch (IOException e) {
      closeQuietly(channel, e);
      throw new KernelImageException(
          path, "%s %s cannot be read: %s".formatted(label, path, e.getMessage()), e);
    }
  }

  /**
   * Returns a view of the same open file whose errors start with another label, such as "ELF
   * kernel" once the format is known. Only the original needs closing.
   */
  ImageFile withLabel(String newLabel) {
    return new ImageFile(path, newLabel, channel, size);
  }

  /** Returns the path the file was opened from. */
  Path path() {
    return path;
  }

  /** Returns the file size in bytes, as it was when the file was opened. */
  long size() {
    return size;
  }

  /** Creates an exception whose message is the label, the path and then {@code problem}. */
  KernelImageException error(String problem) {
    return new KernelImageException(path, label + " " + path + " " + problem);
  }

  /**
   * Reads {@code length} bytes at {@code offset} into a new little-endian buffer.
   *
   * @param part the part of the file being read, such as "program header 2", for the error message
   * @throws KernelImageException when the range is not inside the file or the read fails
   */
  ByteBuffer read(long offset, int length, String part) throws KernelImageException {
    checkInFile(offset, length, part);
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    readFully(buffer, offset, part);
    return buffer.flip();
  }

  /**
   * Copies {@code length} bytes at file {@code offset} straight into guest memory at {@code
   * address}, without a copy on the Java heap.
   *
   * @throws KernelImageException when the range is not inside the file or the read fails
   * @throws dev.kiln.vmm.memory.GuestMemoryException when the guest range is outside guest RAM,
   *     which callers rule out before copying
   */
  void copyTo(GuestMemory memory, long address, long offset, long length, String part)
      throws KernelImageException {
    checkInFile(offset, length, part);
    MemorySegment target = memory.slice(address, length);
    long copied = 0;
    while (copied < length) {
      // A ByteBuffer view can address at most Integer.MAX_VALUE bytes.
      int chunk = (int) Math.min(length - copied, Integer.MAX_VALUE);
      readFully(target.asSlice(copied, chunk).asByteBuffer(), offset + copied, part);
      copied += chunk;
    }
  }

  /**
   * Throws the "truncated" error unless {@code [offset, offset + length)} lies inside the file.
   * Both values are compared as unsigned, as ELF stores them, so huge values cannot overflow.
   */
  void checkInFile(long offset, long length, String part) throws KernelImageException {
    if (Long.compareUnsigned(offset, size) > 0 || Long.compareUnsigned(length, size - offset) > 0) {
      throw truncated(part, Unsigned.sum(offset, length), size);
    }
  }

  private void readFully(ByteBuffer buffer, long offset, String part) throws KernelImageException {
    long position = offset;
    try {
      while (buffer.hasRemaining()) {
        int count = channel.read(buffer, position);
        if (count < 0) {
          // The file shrank after it was opened.
          throw truncated(part, Unsigned.sum(position, buffer.remaining()), position);
        }
        position += count;
      }
    } catch (IOException e) {
      throw new KernelImageException(
          path,
          "%s %s cannot be read at byte %d (%s): %s"
              .formatted(label, path, position, part, e.getMessage()),
          e);
    }
  }

  private KernelImageException truncated(String part, String end, long fileSize) {
    return error(
        "is truncated: %s ends at byte %s but the file has %d bytes"
            .formatted(part, end, fileSize));
  }

  /** Closes the file, and with it every view made by {@link #withLabel}. */
  @Override
  public void close() throws KernelImageException {
    try {
      channel.close();
    } catch (IOException e) {
      throw new KernelImageException(
          path, "%s %s cannot be closed: %s".formatted(label, path, e.getMessage()), e);
    }
  }

  private static void closeQuietly(FileChannel channel, IOException pending) {
    try {
      channel.close();
    } catch (IOException e) {
      pending.addSuppressed(e);
    }
  }
}
