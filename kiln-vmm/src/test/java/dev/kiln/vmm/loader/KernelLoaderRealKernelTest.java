package dev.kiln.vmm.loader;

import static dev.kiln.vmm.loader.TestFiles.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Loads the guest kernels that the repository's guest build writes to {@code $KILN_CACHE/guest}
 * (default {@code ~/.cache/kiln/guest}). Each test is skipped when its file is absent.
 */
class KernelLoaderRealKernelTest {
  private static final long MEMORY_SIZE = 256 * MIB;

  private final Arena arena = Arena.ofConfined();
  private final GuestMemory memory = TestFiles.memory(arena, MEMORY_SIZE);

  @AfterEach
  void freeMemory() {
    arena.close();
  }

  private static Path guestFile(String name) {
    String cache = System.getenv("KILN_CACHE");
    Path root =
        cache != null && !cache.isEmpty()
            ? Path.of(cache)
            : Path.of(System.getProperty("user.home"), ".cache", "kiln");
    Path file = root.resolve("guest").resolve(name);
    assumeTrue(Files.isRegularFile(file), file + " not built");
    return file;
  }

  @Test
  void realVmlinuxLoadsAsPvh() throws Exception {
    LoadedKernel kernel = KernelLoader.load(guestFile("vmlinux"), memory);

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.PVH);
    assertThat(kernel.loadStart()).isGreaterThanOrEqualTo(Layout.HIMEM_START);
    assertThat(kernel.entryAddress()).isBetween(kernel.loadStart(), kernel.loadEnd() - 1);
    assertThat(kernel.setupHeader()).isNull();
  }

  @Test
  void realBzImageLoadsAsLinux64() throws Exception {
    Path file = guestFile("bzImage");

    LoadedKernel kernel = KernelLoader.load(file, memory);

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.LINUX_64);
    assertThat(kernel.setupHeader().version()).isGreaterThanOrEqualTo(SetupHeader.MIN_VERSION);
    assertThat(kernel.entryAddress()).isEqualTo(Layout.HIMEM_START + 0x200);
    assertThat(kernel.loadEnd())
        .isGreaterThanOrEqualTo(Layout.HIMEM_START + kernel.setupHeader().initSize());
    byte[] image = Files.readAllBytes(file);
    int payloadOffset = (int) kernel.setupHeader().payloadOffset();
    assertThat(memory.read(Layout.HIMEM_START, 4096))
        .isEqualTo(Arrays.copyOfRange(image, payloadOffset, payloadOffset + 4096));
  }

  @Test
  void realInitramfsLoadsAboveBzImage() throws Exception {
    LoadedKernel kernel = KernelLoader.load(guestFile("bzImage"), memory);

    Initrd initrd = InitrdLoader.load(guestFile("initramfs.cpio.gz"), memory, kernel);

    assertThat(initrd.address()).isGreaterThanOrEqualTo(kernel.loadEnd());
    assertThat(initrd.address() + initrd.size()).isLessThanOrEqualTo(MEMORY_SIZE);
  }
}
