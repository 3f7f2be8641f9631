package dev.kiln.vmm.loader;

import static dev.kiln.vmm.loader.ElfImageBuilder.concat;
import static dev.kiln.vmm.loader.ElfImageBuilder.elfNote;
import static dev.kiln.vmm.loader.ElfImageBuilder.pattern;
import static dev.kiln.vmm.loader.ElfImageBuilder.pvhNote32;
import static dev.kiln.vmm.loader.ElfImageBuilder.pvhNote64;
import static dev.kiln.vmm.loader.TestFiles.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.kiln.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderElfTest {
  private static final long TEXT = 0x100_0000;
  private static final long DATA = 0x120_0000;
  private static final long MEMORY_SIZE = 32 * MIB;

  @TempDir Path directory;
  private final Arena arena = Arena.ofConfined();
  private final GuestMemory memory = TestFiles.memory(arena, MEMORY_SIZE);

  @AfterEach
  void freeMemory() {
    arena.close();
  }

  private static ElfImageBuilder twoSegmentKernel() {
    return new ElfImageBuilder()
        .entry(TEXT + 0x40)
        .load(TEXT, pattern(0x300, 1), 0x300)
        .load(DATA, pattern(0x100, 7), 0x2000);
  }

  private Path kernelFile(byte[] image) throws IOException {
    return TestFiles.write(directory, "vmlinux", image);
  }

  private LoadedKernel load(ElfImageBuilder builder) throws Exception {
    return KernelLoader.load(kernelFile(builder.build()), memory);
  }

  private void assertLoadFails(byte[] image, String... messageParts) throws IOException {
    Path file = kernelFile(image);
    assertThatThrownBy(() -> KernelLoader.load(file, memory))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContainingAll(messageParts)
        .hasMessageContaining(file.toString());
  }

  @Test
  void elfLoadsSegmentsAtPhysicalAddress() throws Exception {
    memory.slice(DATA, 0x2000).fill((byte) 0xff);

    LoadedKernel kernel = load(twoSegmentKernel());

    assertThat(memory.read(TEXT, 0x300)).isEqualTo(pattern(0x300, 1));
    assertThat(memory.read(DATA, 0x100)).isEqualTo(pattern(0x100, 7));
    assertThat(kernel.loadStart()).isEqualTo(TEXT);
    assertThat(kernel.loadEnd()).isEqualTo(DATA + 0x2000);
  }

  @Test
  void elfZeroesBssUpToMemorySize() throws Exception {
    memory.slice(DATA, 0x2000).fill((byte) 0xff);

    load(twoSegmentKernel());

    assertThat(memory.read(DATA + 0x100, 0x2000 - 0x100)).containsOnly(0);
    assertThat(memory.readU8(DATA + 0x2000)).isEqualTo((byte) 0);
  }

  @Test
  void elfWithoutPvhNoteUsesLinux64Entry() throws Exception {
    LoadedKernel kernel = load(twoSegmentKernel());

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.LINUX_64);
    assertThat(kernel.entryAddress()).isEqualTo(TEXT + 0x40);
    assertThat(kernel.setupHeader()).isNull();
  }

  @Test
  void elfIgnoresUnrelatedNotes() throws Exception {
    byte[] notes =
        concat(
            elfNote("GNU", 3, pattern(20, 0), 4),
            elfNote("Xen", 6, pattern(8, 0), 4),
            elfNote("Linux", PvhEntryNote.XEN_ELFNOTE_PHYS32_ENTRY, pattern(4, 0), 4));

    LoadedKernel kernel = load(twoSegmentKernel().note(notes, 4));

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.LINUX_64);
  }

  @Test
  void pvhNoteSelectsPvhAndItsEntry() throws Exception {
    byte[] notes = concat(elfNote("GNU", 3, pattern(20, 0), 4), pvhNote32((int) TEXT + 0x80));

    LoadedKernel kernel = load(twoSegmentKernel().note(notes, 4));

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.PVH);
    assertThat(kernel.entryAddress()).isEqualTo(TEXT + 0x80);
  }

  @Test
  void pvhNoteWith64BitDescriptor() throws Exception {
    LoadedKernel kernel = load(twoSegmentKernel().note(pvhNote64(TEXT + 0x90), 4));

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.PVH);
    assertThat(kernel.entryAddress()).isEqualTo(TEXT + 0x90);
  }

  @Test
  void pvhNoteInEightByteAlignedSegment() throws Exception {
    byte[] notes = concat(elfNote("GNU", 5, pattern(12, 0), 8), pvhNote64(TEXT + 0xa0, 8));
    // The GNU note's descriptor starts at 16, not 12 + 8, and the Xen note starts at 32.
    assertThat(notes).hasSize(32 + 16 + 8);

    LoadedKernel kernel = load(twoSegmentKernel().note(notes, 8));

    assertThat(kernel.protocol()).isEqualTo(BootProtocol.PVH);
    assertThat(kernel.entryAddress()).isEqualTo(TEXT + 0xa0);
  }

  @Test
  void notElfOrBzImageRejected() throws IOException {
    assertLoadFails(
        pattern(4096, 0x10), "is not an ELF or bzImage file: it starts with bytes 10 11 12 13");
  }

  @Test
  void shortUnknownFileRejected() throws IOException {
    assertLoadFails(
        new byte[] {0x7f, 0x45, 0x4c, 0x00, 1, 2},
        "is not an ELF or bzImage file: it starts with bytes 7f 45 4c 00",
        "has 6 bytes");
  }

  @Test
  void emptyFileRejectedAsTruncated() throws IOException {
    assertLoadFails(new byte[0], "is truncated: it has 0 bytes");
  }

  @Test
  void truncatedElfHeaderRejected() throws IOException {
    byte[] image = twoSegmentKernel().build();
    byte[] truncated = Arrays.copyOf(image, 40);

    assertLoadFails(
        truncated, "is truncated: the ELF header ends at byte 64 but the file has 40 bytes");
  }

  @Test
  void truncatedProgramHeaderTableRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.programHeaderCount = 200;

    assertLoadFails(builder.build(), "is truncated: program header ", "but the file has");
  }

  @Test
  void programHeaderTablePastFileEndRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.programHeaderOffset = 0x10_0000L;

    assertLoadFails(
        builder.build(), "is truncated: program header 0 ends at byte 1048632 but the file has");
  }

  @Test
  void programHeaderOffsetOverflowRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.programHeaderOffset = (long) -Elf64.PHDR_SIZE;

    assertLoadFails(
        builder.build(), "is truncated: program header 0 ends at byte 18446744073709551616");
  }

  @Test
  void segmentPastFileEndRejected() throws IOException {
    byte[] image = twoSegmentKernel().overrideOffset(1, 0x9000).build();

    assertLoadFails(
        image, "is truncated: segment 1 ends at byte 37120 but the file has " + image.length);
  }

  @Test
  void segmentWithHugeOffsetRejected() throws IOException {
    byte[] image = twoSegmentKernel().overrideOffset(0, -0x10).build();

    assertLoadFails(image, "is truncated: segment 0 ends at byte 18446744073709552368");
  }

  @Test
  void fileSizeAboveMemorySizeRejected() throws IOException {
    byte[] image = twoSegmentKernel().overrideFileSize(0, 0x400).build();

    assertLoadFails(image, "segment 0: p_filesz 0x400 is larger than p_memsz 0x300");
  }

  @Test
  void elf32Rejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.elfClass = Elf64.ELFCLASS32;

    assertLoadFails(builder.build(), "ELF kernel", "is a 32-bit ELF file (ELFCLASS32)");
  }

  @Test
  void invalidElfClassRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.elfClass = 9;

    assertLoadFails(builder.build(), "has invalid ELF class 9");
  }

  @Test
  void bigEndianElfRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.dataEncoding = 2;

    assertLoadFails(builder.build(), "has data encoding 2", "not little-endian");
  }

  @Test
  void wrongMachineRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.machine = 183; // EM_AARCH64

    assertLoadFails(builder.build(), "is built for ELF machine 183", "not x86_64 (EM_X86_64, 62)");
  }

  @Test
  void sharedObjectRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.type = 3; // ET_DYN

    assertLoadFails(builder.build(), "has ELF type 3 (e_type), not an executable (ET_EXEC, 2)");
  }

  @Test
  void zeroEntryRejected() throws IOException {
    assertLoadFails(
        twoSegmentKernel().entry(0).build(), "ELF kernel", "has no entry point (e_entry is 0)");
  }

  @Test
  void entryOutsideSegmentsRejected() throws IOException {
    assertLoadFails(
        twoSegmentKernel().entry(0xffff_ffff_8100_0000L).build(),
        "has its entry point (e_entry) at 0xffffffff81000000, outside every loadable segment");
  }

  @Test
  void pvhEntryOutsideSegmentsRejected() throws IOException {
    assertLoadFails(
        twoSegmentKernel().note(pvhNote32(0x50_0000), 4).build(),
        "XEN_ELFNOTE_PHYS32_ENTRY address at 0x500000, outside every loadable segment");
  }

  @Test
  void wrongProgramHeaderSizeRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.programHeaderEntrySize = 32;

    assertLoadFails(builder.build(), "has program header size 32 (e_phentsize)");
  }

  @Test
  void noProgramHeadersRejected() throws IOException {
    ElfImageBuilder builder = twoSegmentKernel();
    builder.programHeaderCount = 0;

    assertLoadFails(builder.build(), "has no program headers (e_phnum is 0)");
  }

  @Test
  void noLoadableSegmentRejected() throws IOException {
    byte[] image = new ElfImageBuilder().entry(TEXT).note(pvhNote32((int) TEXT), 4).build();

    assertLoadFails(image, "has no loadable segments");
  }

  @Test
  void segmentBelowOneMibRejected() throws IOException {
    byte[] image =
        new ElfImageBuilder().entry(0x1040).load(0x1000, pattern(0x100, 0), 0x1000).build();

    assertLoadFails(
        image,
        "does not fit in guest memory: segment 0 at 0x1000-0x2000 starts below 0x100000 (1 MiB)");
  }

  @Test
  void segmentBeyondRamRejected() throws IOException {
    byte[] image =
        new ElfImageBuilder().entry(TEXT).load(TEXT, pattern(0x100, 0), 0x240_0000).build();

    assertLoadFails(
        image,
        "does not fit in guest memory: segment 0 at 0x1000000-0x3400000 but RAM below the device"
            + " window ends at 0x2000000; raise mem_size_mib");
  }

  @Test
  void segmentWithWrappingEndRejected() throws IOException {
    byte[] image =
        new ElfImageBuilder().entry(TEXT).load(TEXT, pattern(0x100, 0), -0x100_0000L).build();

    assertLoadFails(
        image, "does not fit in guest memory: segment 0 at 0x1000000-0x10000000000000000");
  }

  @Test
  void overlappingSegmentsRejected() throws IOException {
    byte[] image =
        new ElfImageBuilder()
            .entry(TEXT)
            .load(TEXT, pattern(0x100, 0), 0x2000)
            .load(TEXT + 0x1000, pattern(0x100, 0), 0x1000)
            .build();

    assertLoadFails(
        image, "has segments 0 (0x1000000-0x1002000) and 1 (0x1001000-0x1002000) that overlap");
  }

  @Test
  void failedLoadWritesNoSegment() throws IOException {
    byte[] image =
        new ElfImageBuilder()
            .entry(TEXT)
            .load(TEXT, pattern(0x100, 1), 0x100)
            .load(0x300_0000, pattern(0x100, 1), 0x100)
            .build();

    assertLoadFails(image, "does not fit in guest memory: segment 1");
    assertThat(memory.read(TEXT, 0x100)).containsOnly(0);
  }

  @Test
  void noteRunningPastSegmentRejected() throws IOException {
    byte[] note = pvhNote32((int) TEXT);
    note[4] = 0x40; // n_descsz far beyond the segment

    assertLoadFails(
        twoSegmentKernel().note(note, 4).build(),
        "has a malformed note 0 in PT_NOTE segment 2",
        "n_namesz 4 and n_descsz 64 run past the segment end");
  }

  @Test
  void noteHeaderPastSegmentRejected() throws IOException {
    byte[] notes = concat(elfNote("GNU", 3, new byte[0], 4), new byte[] {1, 0, 0, 0});

    assertLoadFails(
        twoSegmentKernel().note(notes, 4).build(),
        "has a malformed note 1 in PT_NOTE segment 2",
        "its 12-byte header runs past the segment end");
  }

  @Test
  void pvhNoteWithOddDescriptorRejected() throws IOException {
    byte[] note = elfNote("Xen", PvhEntryNote.XEN_ELFNOTE_PHYS32_ENTRY, pattern(2, 0), 4);

    assertLoadFails(
        twoSegmentKernel().note(note, 4).build(),
        "XEN_ELFNOTE_PHYS32_ENTRY descriptor is 2 bytes, not a 4- or 8-byte address");
  }

  @Test
  void pvhNoteAbove4GibRejected() throws IOException {
    assertLoadFails(
        twoSegmentKernel().note(pvhNote64(1L << 32), 4).build(),
        "XEN_ELFNOTE_PHYS32_ENTRY address 0x100000000 is not a nonzero 32-bit address");
  }

  @Test
  void noteSegmentPastFileEndRejected() throws IOException {
    byte[] image =
        twoSegmentKernel().note(pvhNote32((int) TEXT), 4).overrideFileSize(2, 0x10000).build();

    assertLoadFails(image, "is truncated: PT_NOTE segment 2 ends at byte");
  }

  @Test
  void missingFileRejected() {
    Path missing = directory.resolve("no-such-vmlinux");

    assertThatThrownBy(() -> KernelLoader.load(missing, memory))
        .isInstanceOf(KernelImageException.class)
        .hasMessage("kernel " + missing + " not found; check kernel_image_path");
  }

  @Test
  void directoryRejected() {
    assertThatThrownBy(() -> KernelLoader.load(directory, memory))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContaining("is a directory, not a file");
  }

  @Test
  void unreadableFileRejected() throws IOException {
    Path file = kernelFile(twoSegmentKernel().build());
    file.toFile().setReadable(false, false);
    // NOTE: root can read any file, so the check only runs as an ordinary user.
    assumeFalse(Files.isReadable(file), "running as root");

    assertThatThrownBy(() -> KernelLoader.load(file, memory))
        .isInstanceOf(KernelImageException.class)
        .hasMessageContaining("is not readable: permission denied");
  }
}
