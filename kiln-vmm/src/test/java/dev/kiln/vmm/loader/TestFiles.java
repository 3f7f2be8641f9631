package dev.kiln.vmm.loader;

import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Guest memory and image files for loader tests. */
final class TestFiles {
  static final long MIB = 1 << 20;

  /** Guest page alignment of the host allocation, as KVM requires for memory slots. */
  private static final long HOST_ALIGNMENT = 4096;

  private TestFiles() {}

  /**
   * Returns guest RAM of {@code size} bytes at guest address 0, freed when {@code arena} closes.
   */
  static GuestMemory memory(Arena arena, long size) {
    return new GuestMemory(List.of(new GuestRegion(0, arena.allocate(size, HOST_ALIGNMENT))));
  }

  /** Writes {@code bytes} to a new file {@code name} in {@code directory} and returns its path. */
  static Path write(Path directory, String name, byte[] bytes) throws IOException {
    return Files.write(directory.resolve(name), bytes);
  }
}
