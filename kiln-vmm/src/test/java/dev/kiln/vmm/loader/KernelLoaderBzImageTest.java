package dev.kiln.vmm.loader;

import static dev.kiln.vmm.loader.TestFiles.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderBzImageTest {
  private static final long MEMORY_SIZE = 32 * MIB;

  @TempDir Path directory;
  private final Arena arena = Arena.ofConfined();
  private final GuestMemory memory = TestFiles.memory(arena, MEMORY_SIZE);

  @AfterEach
  void freeMemory() {
    arena.close();
  }

  private LoadedKernel load(BzImageBuilder builder) throws Exception {
    return load(builder, memory);
  }

  private LoadedKernel load(BzImageBuilder builder, GuestMemory target) throws Exception {
    return KernelLoader.load(TestFiles.write(directory, "bzImage", builder.build()), target);
  }

  private void assertLoadFails(byte[] image, String... messageParts) throws IOException {
    Path file = TestFiles.write(directory, "bzImage", image);
    assertThatThrownBy(() -> KernelLoader.load(file, memory))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContainingAll(messageParts)
        .hasMessageContaining(file.toString());
  }

  @Test
  void bzImageHeaderFieldsParsed() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.setupSects = 7;

    SetupHeader header = load(builder).setupHeader();

    assertThat(header.setupSects()).isEqualTo(7);
    assertThat(header.version()).isEqualTo(0x020f);
    assertThat(header.versionString()).isEqualTo("2.15");
    assertThat(header.loadflags()).isEqualTo(SetupHeader.LOADED_HIGH);
    assertThat(header.initrdAddrMax()).isEqualTo(0x7fffffffL);
    assertThat(header.kernelAlignment()).isEqualTo(0x200000);
    assertThat(header.relocatableKernel()).isTrue();
    assertThat(header.xloadflags()).isEqualTo(SetupHeader.XLF_KERNEL_64);
    assertThat(header.cmdlineSize()).isEqualTo(2047);
    assertThat(header.prefAddress()).isEqualTo(0x1000000);
    assertThat(header.initSize()).isEqualTo(0x800000);
    assertThat(header.payloadOffset()).isEqualTo(8 * 512);
  }

  @Test
  void bzImageUnsignedFieldsAboveTwoGib() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.initrdAddrMax = 0xffffffffL;

    SetupHeader header = load(builder).setupHeader();

    assertThat(header.initrdAddrMax()).isEqualTo(0xffffffffL);
  }

  @Test
  void bzImageSetupSectsZeroMeansFour() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.setupSects = 0;

    LoadedKernel kernel = load(builder);

    assertThat(kernel.setupHeader().setupSects()).isEqualTo(4);
    assertThat(memory.read(Layout.HIMEM_START, builder.payload.length)).isEqualTo(builder.payload);
  }

  @Test
  void bzImagePayloadLoadedAtOneMib() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();

    LoadedKernel kernel = load(builder);

    assertThat(memory.read(Layout.HIMEM_START, builder.payload.length)).isEqualTo(builder.payload);
    assertThat(kernel.loadStart()).isEqualTo(Layout.HIMEM_START);
    // The setup sectors stay out of guest memory.
    assertThat(memory.read(Layout.HIMEM_START - 0x1000, 0x1000)).containsOnly(0);
  }

  @Test
  void bzImageEntryIsOneMibPlus0x200() throws Exception {
    LoadedKernel kernel = load(new BzImageBuilder());

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.LINUX_64);
    assertThat(kernel.entryAddress()).isEqualTo(0x100200);
  }

  @Test
  void bzImageRawHeaderIsFileBytes() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    byte[] image = builder.build();

    SetupHeader header = load(builder).setupHeader();

    int headerEnd = SetupHeader.HEADER + BzImageBuilder.JUMP_OFFSET;
    assertThat(header.rawHeader()).hasSize(headerEnd - SetupHeader.SETUP_HEADER_OFFSET);
    assertThat(header.rawHeader())
        .isEqualTo(Arrays.copyOfRange(image, SetupHeader.SETUP_HEADER_OFFSET, headerEnd));
  }

  @Test
  void bzImageRawHeaderIsACopy() throws Exception {
    SetupHeader header = load(new BzImageBuilder()).setupHeader();

    header.rawHeader()[0] = 99;

    assertThat(header.rawHeader()[0]).isEqualTo((byte) 4);
  }

  @Test
  void bzImageLoadEndIncludesInitSize() throws Exception {
    // Relocatable, loaded at 1 MiB: it runs at max(align_up(1 MiB, 2 MiB), pref_address).
    LoadedKernel kernel = load(new BzImageBuilder());

    assertThat(kernel.loadEnd()).isEqualTo(0x1000000 + 0x800000);
  }

  @Test
  void bzImageLoadEndFromAlignedLoadAddress() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.prefAddress = 0;

    LoadedKernel kernel = load(builder);

    assertThat(kernel.loadEnd()).isEqualTo(0x200000 + 0x800000);
  }

  @Test
  void bzImageLoadEndIncludesLargePayload() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.relocatable = false;
    builder.prefAddress = Layout.HIMEM_START;
    builder.initSize = 0x1000;
    builder.payload = ElfImageBuilder.pattern(0x30000, 3);

    LoadedKernel kernel = load(builder);

    assertThat(kernel.loadEnd()).isEqualTo(Layout.HIMEM_START + 0x30000);
  }

  @Test
  void bzImageNonRelocatableRunsAtPrefAddress() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.relocatable = false;
    builder.prefAddress = 0x400000;

    LoadedKernel kernel = load(builder);

    assertThat(kernel.loadEnd()).isEqualTo(0x400000 + 0x800000);
    assertThat(kernel.entryAddress()).isEqualTo(0x100200);
  }

  @Test
  void bzImageNonRelocatableBelowOneMibRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.relocatable = false;
    builder.prefAddress = 0x10000;

    assertLoadFails(builder.build(), "is not relocatable and runs at pref_address 0x10000");
  }

  @Test
  void bzImageOldProtocolRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.version = 0x0205;

    assertLoadFails(
        builder.build(),
        "bzImage ",
        "uses boot protocol 2.05; Kiln needs 2.12 or newer (64-bit entry)");
  }

  @Test
  void bzImageProtocol2_11Rejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.version = 0x020b;

    assertLoadFails(builder.build(), "uses boot protocol 2.11; Kiln needs 2.12 or newer");
  }

  @Test
  void bzImageProtocol2_12Accepted() throws Exception {
    BzImageBuilder builder = new BzImageBuilder();
    builder.version = SetupHeader.MIN_VERSION;

    assertThat(load(builder).setupHeader().versionString()).isEqualTo("2.12");
  }

  @Test
  void bzImageWithoutLoadedHighRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.loadflags = 0x80; // CAN_USE_HEAP only

    assertLoadFails(builder.build(), "does not set LOADED_HIGH in loadflags (0x80)");
  }

  @Test
  void bzImageWithoutKernel64Rejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.xloadflags = 0x0c; // only the EFI handover flags

    assertLoadFails(
        builder.build(), "has no 64-bit entry point: xloadflags 0x000c lacks XLF_KERNEL_64");
  }

  @Test
  void bzImageInitSizeLargerThanMemoryRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.initSize = 0x2000000;

    assertLoadFails(
        builder.build(),
        "bzImage ",
        "does not fit in guest memory: it needs 0x100000-0x3000000",
        "init_size 0x2000000 bytes from its run address 0x1000000",
        "RAM below the device window ends at 0x2000000; raise mem_size_mib");
  }

  @Test
  void bzImageRunAddressBeyondMemoryRejected() throws Exception {
    try (Arena small = Arena.ofConfined()) {
      GuestMemory sixteenMib = TestFiles.memory(small, 16 * MIB);
      Path file = TestFiles.write(directory, "bzImage", new BzImageBuilder().build());

      assertThatThrownBy(() -> KernelLoader.load(file, sixteenMib))
          .isInstanceOf(KernelImageException.class)
          .hasMessageContaining(
              "does not fit in guest memory: it runs at 0x1000000 but RAM below the device window"
                  + " ends at 0x1000000; raise mem_size_mib");
    }
  }

  @Test
  void bzImageWithoutPayloadRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.payload = new byte[0];

    assertLoadFails(
        builder.build(),
        "is truncated: the 4 setup sectors end at byte 2560 but the file has 2560 bytes");
  }

  @Test
  void bzImageTruncatedHeaderRejected() throws IOException {
    byte[] image = Arrays.copyOf(new BzImageBuilder().build(), 0x210);

    assertLoadFails(image, "is truncated: the setup header ends at byte 620 but the file has 528");
  }

  @Test
  void bzImageWithoutShortJumpRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.jumpOpcode = 0x90;

    assertLoadFails(builder.build(), "has 0x90 at byte 0x200 instead of a short jump (0xeb)");
  }

  @Test
  void bzImageShortHeaderRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.jumpOffset = 0x40;

    assertLoadFails(
        builder.build(),
        "has a setup header that ends at byte 0x242, before init_size ends at 0x264");
  }

  @Test
  void bzImageNegativeJumpRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.jumpOffset = -2;

    assertLoadFails(builder.build(), "has a setup header that ends at byte 0x200");
  }

  @Test
  void bzImageBadKernelAlignmentRejected() throws IOException {
    BzImageBuilder builder = new BzImageBuilder();
    builder.kernelAlignment = 0x300000;

    assertLoadFails(builder.build(), "has kernel_alignment 0x300000, which is not a power of two");
  }

  @Test
  void bootSectorWithoutHdrSRejected() throws IOException {
    byte[] image = new BzImageBuilder().build();
    image[SetupHeader.HEADER] = 'X';

    assertLoadFails(image, "kernel ", "is not an ELF or bzImage file");
  }
}
