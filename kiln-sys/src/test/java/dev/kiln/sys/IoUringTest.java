package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@link IoUring} against the host kernel on files in a temporary directory. */
class IoUringTest {
  @TempDir Path dir;

  private final Arena arena = Arena.ofConfined();
  private Path file;
  private int fd;

  @BeforeEach
  void openFile() throws Exception {
    file = dir.resolve("data.img");
    Files.write(file, new byte[64 * 1024]);
    fd = Syscalls.open(file.toString(), Syscalls.O_RDWR | Syscalls.O_CLOEXEC, 0);
  }

  @AfterEach
  void closeFile() throws Exception {
    Syscalls.close(fd);
    arena.close();
  }

  private MemorySegment iovecs(MemorySegment... buffers) {
    MemorySegment array = arena.allocate((long) IoUring.IOVEC_BYTES * buffers.length, 8);
    for (int i = 0; i < buffers.length; i++) {
      array.set(ADDRESS, (long) IoUring.IOVEC_BYTES * i, buffers[i]);
      array.set(JAVA_LONG, (long) IoUring.IOVEC_BYTES * i + 8, buffers[i].byteSize());
    }
    return array;
  }

  private MemorySegment pattern(int length, int seed) {
    MemorySegment buffer = arena.allocate(length, 4096);
    for (int i = 0; i < length; i++) {
      buffer.set(JAVA_BYTE, i, (byte) (seed + i * 31));
    }
    return buffer;
  }

  /** Waits for {@code count} completions and returns the result of each by user data. */
  private static Map<Long, Integer> await(IoUring ring, int count) throws SyscallException {
    Map<Long, Integer> results = new HashMap<>();
    ring.waitForCompletions(count, results::put);
    return results;
  }

  @Test
  void writevThenReadvRoundTrips() throws Exception {
    try (IoUring ring = IoUring.setup(8, 0)) {
      MemorySegment first = pattern(512, 1);
      MemorySegment second = pattern(1024, 2);
      ring.prepareWritev(fd, 0, 4096, iovecs(first, second), 2, 7);
      assertThat(ring.submit()).isEqualTo(1);
      assertThat(await(ring, 1)).containsEntry(7L, 1536);

      MemorySegment back = arena.allocate(1536, 4096);
      ring.prepareReadv(fd, 0, 4096, iovecs(back), 1, 8);
      ring.submit();
      assertThat(await(ring, 1)).containsEntry(8L, 1536);

      assertThat(back.asSlice(0, 512).mismatch(first)).isEqualTo(-1);
      assertThat(back.asSlice(512, 1024).mismatch(second)).isEqualTo(-1);
      byte[] onDisk = Files.readAllBytes(file);
      assertThat(onDisk[4096]).isEqualTo(first.get(JAVA_BYTE, 0));
      assertThat(onDisk[4096 + 512 + 5]).isEqualTo(second.get(JAVA_BYTE, 5));
    }
  }

  @Test
  void readPastEndIsShort() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      MemorySegment buffer = arena.allocate(8192, 4096);
      ring.prepareReadv(fd, 0, 64 * 1024 - 4096, iovecs(buffer), 1, 1);
      ring.submit();

      assertThat(await(ring, 1)).containsEntry(1L, 4096);
    }
  }

  @Test
  void fsyncCompletesWithZero() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      ring.prepareWritev(fd, 0, 0, iovecs(pattern(4096, 3)), 1, 1);
      ring.prepareFsync(fd, 0, IoUring.IORING_FSYNC_DATASYNC, 2);
      ring.prepareFsync(fd, 0, 0, 3);
      assertThat(ring.submit()).isEqualTo(3);

      Map<Long, Integer> results = await(ring, 3);
      assertThat(results).containsEntry(1L, 4096);
      assertThat(results).containsEntry(2L, 0);
      assertThat(results).containsEntry(3L, 0);
    }
  }

  @Test
  void badDescriptorCompletesWithEbadf() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      ring.prepareReadv(9999, 0, 0, iovecs(arena.allocate(512)), 1, 5);
      ring.submit();

      assertThat(await(ring, 1)).containsEntry(5L, -Errno.EBADF);
    }
  }

  @Test
  void manyRequestsInFlightAllComplete() throws Exception {
    try (IoUring ring = IoUring.setup(64, 0)) {
      assertThat(ring.submissionEntries()).isEqualTo(64);
      MemorySegment[] buffers = new MemorySegment[64];
      for (int i = 0; i < 64; i++) {
        buffers[i] = pattern(1024, i);
        ring.prepareWritev(fd, 0, 1024L * i, iovecs(buffers[i]), 1, i);
      }
      assertThat(ring.freeSubmissionSlots()).isZero();
      assertThat(ring.submit()).isEqualTo(64);

      Map<Long, Integer> results = await(ring, 64);
      assertThat(results).hasSize(64);
      assertThat(results.values()).containsOnly(1024);
      byte[] onDisk = Files.readAllBytes(file);
      for (int i = 0; i < 64; i++) {
        assertThat(onDisk[1024 * i + 100])
            .as("byte 100 of write %d", i)
            .isEqualTo(buffers[i].get(JAVA_BYTE, 100));
      }
    }
  }

  @Test
  void fullSubmissionQueueRejectsPrepare() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      for (int i = 0; i < 4; i++) {
        ring.prepareNop(i);
      }

      assertThatThrownBy(() -> ring.prepareNop(4))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("full");
      assertThat(ring.submit()).isEqualTo(4);
      assertThat(ring.freeSubmissionSlots()).isEqualTo(4);
      assertThat(await(ring, 4)).containsOnlyKeys(0L, 1L, 2L, 3L);
    }
  }

  @Test
  void completionsPastOneRingLengthKeepOrder() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      // Wraps the SQ and CQ indexes several times.
      for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 4; i++) {
          ring.prepareNop(round * 4L + i);
        }
        ring.submit();
        Map<Long, Integer> results = await(ring, 4);
        assertThat(results)
            .containsOnlyKeys(round * 4L, round * 4L + 1, round * 4L + 2, round * 4L + 3);
      }
    }
  }

  @Test
  void withdrawReturnsUnsubmittedUserData() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0)) {
      ring.prepareNop(11);
      ring.prepareNop(12);

      assertThat(ring.unsubmitted()).isEqualTo(2);
      assertThat(ring.withdrawUnsubmitted()).containsExactly(11L, 12L);
      assertThat(ring.unsubmitted()).isZero();
      assertThat(ring.submit()).isZero();
      assertThat(ring.reap((userData, result) -> {})).isZero();
    }
  }

  @Test
  void registeredEventFdIsSignalled() throws Exception {
    try (IoUring ring = IoUring.setup(4, 0);
        EventFd completions = new EventFd()) {
      ring.registerEventFd(completions.fd());
      assertThat(completions.drain()).isZero();
      ring.prepareNop(1);
      ring.submit();
      await(ring, 1);

      assertThat(completions.drain()).isPositive();
    }
  }

  @Test
  void restrictionsRejectOtherOpcodesAndPlainDescriptors() throws Exception {
    try (IoUring ring = IoUring.setup(4, IoUring.IORING_SETUP_R_DISABLED)) {
      ring.registerFiles(fd);
      ring.registerRestrictions(
          new int[] {IoUring.IORING_OP_READV, IoUring.IORING_OP_FSYNC}, IoUring.IOSQE_FIXED_FILE);
      ring.enableRings();

      MemorySegment buffer = arena.allocate(512);
      ring.prepareReadv(0, IoUring.IOSQE_FIXED_FILE, 0, iovecs(buffer), 1, 1);
      ring.prepareReadv(fd, 0, 0, iovecs(buffer), 1, 2);
      ring.prepareWritev(0, IoUring.IOSQE_FIXED_FILE, 0, iovecs(buffer), 1, 3);
      ring.submit();

      Map<Long, Integer> results = new HashMap<>();
      // A rejected request may end the submission batch, so wait for what the kernel took.
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (results.size() < 3 && System.nanoTime() < deadline) {
        if (ring.unsubmitted() > 0) {
          ring.submit();
        }
        ring.reap(results::put);
      }
      assertThat(results).containsEntry(1L, 512);
      assertThat(results).containsEntry(2L, -Errno.EACCES);
      assertThat(results).containsEntry(3L, -Errno.EACCES);
    }
  }

  @Test
  void closedRingRejectsUse() throws Exception {
    IoUring ring = IoUring.setup(4, 0);
    ring.close();
    ring.close();

    assertThatThrownBy(() -> ring.prepareNop(1)).isInstanceOf(IllegalStateException.class);
  }
}
