package dev.kiln.vmm.loader;

import static dev.kiln.vmm.loader.ElfImageBuilder.pattern;
import static dev.kiln.vmm.loader.TestFiles.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitrdLoaderTest {
  private static final long MEMORY_SIZE = 32 * MIB;

  /** An ELF kernel that ends at 20 MiB. */
  private static final LoadedKernel ELF_KERNEL =
      new LoadedKernel(BootProtocol.PVH, 0x1000000, 0x1000000, 20 * MIB, null);

  @TempDir Path directory;
  private final Arena arena = Arena.ofConfined();
  private final GuestMemory memory = TestFiles.memory(arena, MEMORY_SIZE);

  @AfterEach
  void freeMemory() {
    arena.close();
  }

  private Path initrdFile(byte[] contents) throws IOException {
    return TestFiles.write(directory, "initrd.cpio", contents);
  }

  /** Returns a bzImage kernel that ends at 20 MiB, with the given {@code initrd_addr_max}. */
  private static LoadedKernel bzImageKernel(long initrdAddrMax) {
    SetupHeader header =
        new SetupHeader(
            4,
            0x020f,
            SetupHeader.LOADED_HIGH,
            initrdAddrMax,
            0x200000,
            true,
            SetupHeader.XLF_KERNEL_64,
            2047,
            0x1000000,
            0x800000,
            new byte[0x7b]);
    return new LoadedKernel(BootProtocol.LINUX_64, 0x100200, 0x100000, 20 * MIB, header);
  }

  @Test
  void initrdPlacedPageAlignedAtTopOfMemory() throws Exception {
    byte[] contents = pattern(10_000, 5);

    Initrd initrd = InitrdLoader.load(initrdFile(contents), memory, ELF_KERNEL);

    assertThat(initrd.size()).isEqualTo(10_000);
    assertThat(initrd.address() % InitrdLoader.PAGE_SIZE).isZero();
    assertThat(initrd.address()).isEqualTo((MEMORY_SIZE - 10_000) & -4096L);
    assertThat(initrd.address() + initrd.size()).isLessThanOrEqualTo(MEMORY_SIZE);
    assertThat(memory.read(initrd.address(), contents.length)).isEqualTo(contents);
  }

  @Test
  void initrdOfWholePagesEndsAtMemoryEnd() throws Exception {
    Initrd initrd = InitrdLoader.load(initrdFile(pattern(3 * 4096, 0)), memory, ELF_KERNEL);

    assertThat(initrd.address()).isEqualTo(MEMORY_SIZE - 3 * 4096);
  }

  @Test
  void initrdEndsAtOrBelowInitrdAddrMax() throws Exception {
    long initrdAddrMax = 24 * MIB - 1;
    byte[] contents = pattern(5000, 9);

    Initrd initrd = InitrdLoader.load(initrdFile(contents), memory, bzImageKernel(initrdAddrMax));

    assertThat(initrd.address()).isEqualTo((24 * MIB - 5000) & -4096L);
    assertThat(initrd.address() + initrd.size() - 1).isLessThanOrEqualTo(initrdAddrMax);
    assertThat(memory.read(initrd.address(), contents.length)).isEqualTo(contents);
  }

  @Test
  void initrdAddrMaxAboveMemoryUsesMemoryEnd() throws Exception {
    Initrd initrd =
        InitrdLoader.load(initrdFile(pattern(4096, 0)), memory, bzImageKernel(0xffffffffL));

    assertThat(initrd.address()).isEqualTo(MEMORY_SIZE - 4096);
  }

  @Test
  void initrdTooLargeRejected() throws IOException {
    Path file = initrdFile(new byte[(int) (MEMORY_SIZE + 1)]);

    assertThatThrownBy(() -> InitrdLoader.load(file, memory, ELF_KERNEL))
        .isInstanceOf(KernelImageException.class)
        .hasMessage(
            "initrd "
                + file
                + " (33554433 bytes) does not fit in guest memory above the kernel: the kernel"
                + " ends at 0x1400000 and RAM below the device window ends at 0x2000000; raise"
                + " mem_size_mib or use a smaller initrd");
  }

  @Test
  void initrdOverlappingKernelRejected() throws IOException {
    // 12 MiB would fit in 32 MiB of RAM, but not above a kernel that ends at 20 MiB.
    Path file = initrdFile(new byte[(int) (12 * MIB + 1)]);

    assertThatThrownBy(() -> InitrdLoader.load(file, memory, ELF_KERNEL))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContaining("(12582913 bytes) does not fit in guest memory above the kernel");
  }

  @Test
  void initrdFillingAllSpaceAboveKernelAccepted() throws Exception {
    Initrd initrd = InitrdLoader.load(initrdFile(new byte[(int) (12 * MIB)]), memory, ELF_KERNEL);

    assertThat(initrd.address()).isEqualTo(ELF_KERNEL.loadEnd());
  }

  @Test
  void initrdBelowInitrdAddrMaxOverlappingKernelRejected() throws IOException {
    Path file = initrdFile(new byte[(int) MIB]);

    assertThatThrownBy(() -> InitrdLoader.load(file, memory, bzImageKernel(20 * MIB + 0xfff)))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContaining("does not fit in guest memory above the kernel")
        .hasMessageContaining(
            "the kernel ends at 0x1400000 and the kernel's initrd_addr_max allows it to end at"
                + " 0x1401000");
  }

  @Test
  void emptyInitrdRejected() throws IOException {
    Path file = initrdFile(new byte[0]);

    assertThatThrownBy(() -> InitrdLoader.load(file, memory, ELF_KERNEL))
        .isInstanceOf(KernelImageException.class)
        .hasMessage(
            "initrd "
                + file
                + " is empty; pass a cpio archive, or leave initrd_path out to boot without an"
                + " initrd");
  }

  @Test
  void missingInitrdRejected() {
    Path missing = directory.resolve("no-such-initrd");

    assertThatThrownBy(() -> InitrdLoader.load(missing, memory, ELF_KERNEL))
        .isInstanceOf(KernelImageException.class)
        .hasMessage("initrd " + missing + " not found; check initrd_path");
  }
}
