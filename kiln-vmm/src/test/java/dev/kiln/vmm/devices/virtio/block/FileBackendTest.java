package dev.kiln.vmm.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBackendTest {
  @TempDir Path dir;

  private Path image(int size) throws IOException {
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31);
    }
    Path path = dir.resolve("disk.img");
    Files.write(path, bytes);
    return path;
  }

  private static MemorySegment segment(int length) {
    return Arena.ofAuto().allocate(length, 4096);
  }

  @Test
  void capacityIgnoresPartialTail() throws IOException {
    try (FileBackend backend = FileBackend.open(image(3 * 512 + 511), false)) {
      assertThat(backend.capacity()).isEqualTo(3);
    }
  }

  @Test
  void emptyFileHasNoSectors() throws IOException {
    try (FileBackend backend = FileBackend.open(image(0), true)) {
      assertThat(backend.capacity()).isZero();
    }
  }

  @Test
  void readScattersIntoSegments() throws IOException {
    Path path = image(4 * 512);
    byte[] expected = Arrays.copyOfRange(Files.readAllBytes(path), 512, 512 + 1536);
    MemorySegment first = segment(1024);
    MemorySegment second = segment(512);

    try (FileBackend backend = FileBackend.open(path, true)) {
      backend.read(512, List.of(first, second));
    }

    assertThat(first.toArray(ValueLayout.JAVA_BYTE))
        .isEqualTo(Arrays.copyOfRange(expected, 0, 1024));
    assertThat(second.toArray(ValueLayout.JAVA_BYTE))
        .isEqualTo(Arrays.copyOfRange(expected, 1024, 1536));
  }

  @Test
  void writeGathersFromSegments() throws IOException {
    Path path = image(4 * 512);
    byte[] before = Files.readAllBytes(path);
    MemorySegment first = segment(512).fill((byte) 1);
    MemorySegment second = segment(512).fill((byte) 2);

    try (FileBackend backend = FileBackend.open(path, false)) {
      backend.write(1024, List.of(first, second));
      backend.flush();
    }

    byte[] after = Files.readAllBytes(path);
    assertThat(Arrays.copyOfRange(after, 1024, 1536)).containsOnly((byte) 1);
    assertThat(Arrays.copyOfRange(after, 1536, 2048)).containsOnly((byte) 2);
    assertThat(Arrays.copyOfRange(after, 0, 1024)).isEqualTo(Arrays.copyOfRange(before, 0, 1024));
  }

  @Test
  void readPastLastSectorRejected() throws IOException {
    try (FileBackend backend = FileBackend.open(image(2 * 512 + 100), false)) {
      assertThatThrownBy(() -> backend.read(512, segment(1024)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("1024 bytes at offset 512");
      assertThatThrownBy(() -> backend.write(-512, segment(512)))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void writeToReadOnlyFails() throws IOException {
    Path path = image(512);
    byte[] before = Files.readAllBytes(path);

    try (FileBackend backend = FileBackend.open(path, true)) {
      assertThat(backend.readOnly()).isTrue();
      assertThatThrownBy(() -> backend.write(0, segment(512)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("read-only");
    }

    assertThat(Files.readAllBytes(path)).isEqualTo(before);
  }

  @Test
  void readOfTruncatedFileFails() throws IOException {
    Path path = image(2 * 512);
    try (FileBackend backend = FileBackend.open(path, true)) {
      Files.write(path, new byte[100]);

      assertThatThrownBy(() -> backend.read(512, segment(512)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("truncated");
    }
  }

  @Test
  void openMissingFileFails() {
    assertThatThrownBy(() -> FileBackend.open(dir.resolve("missing.img"), true))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("missing.img");
  }
}
