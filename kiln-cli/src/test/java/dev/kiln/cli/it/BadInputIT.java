package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad inputs on the command line and in the config file: each must end Kiln with a non-zero status
 * and a message naming the value, before any vCPU runs.
 */
class BadInputIT {
  private static final int BAD_CONFIGURATION = 152;
  private static final int ARG_PARSING = 153;
  private static final String VM_STARTED = "started with";

  @TempDir Path directory;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  private BootResult runConfig(String json) throws IOException, InterruptedException {
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      return kiln.awaitExit();
    }
  }

  private String kernelConfig(Path kernel, int vcpus, int mib) {
    return KilnProcess.configJson(kernel, vcpus, null).replace("128", Integer.toString(mib));
  }

  private static void assertRejected(BootResult result, int status, String... phrases) {
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isEqualTo(status);
    for (String phrase : phrases) {
      assertThat(result.stderr()).as(all).contains(phrase);
    }
    assertThat(result.stderr()).as(all).doesNotContain(VM_STARTED);
  }

  @Test
  void missingKernelRejected() throws Exception {
    Path missing = directory.resolve("no-such-vmlinux");
    assertRejected(
        runConfig(kernelConfig(missing, 1, 128)), BAD_CONFIGURATION, missing.toString(), "not");
  }

  @Test
  void truncatedKernelRejected() throws Exception {
    byte[] elf = Files.readAllBytes(TestGuests.guest("serial-echo"));
    Path truncated = directory.resolve("truncated.elf");
    Files.write(truncated, Arrays.copyOf(elf, 100));
    assertRejected(
        runConfig(kernelConfig(truncated, 1, 128)),
        BAD_CONFIGURATION,
        "truncated.elf",
        "truncated");
  }

  @Test
  void textFileAsKernelRejected() throws Exception {
    Path text = directory.resolve("notes.txt");
    Files.writeString(text, "this is not a kernel image at all\n");
    assertRejected(
        runConfig(kernelConfig(text, 1, 128)),
        BAD_CONFIGURATION,
        "notes.txt",
        "not an ELF or bzImage");
  }

  @Test
  void elfWithoutEntryRejected() throws Exception {
    byte[] elf = Files.readAllBytes(TestGuests.guest("serial-echo"));
    // e_entry is the 8-byte field at offset 24 of the ELF64 header.
    ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 0);
    Path noEntry = directory.resolve("no-entry.elf");
    Files.write(noEntry, elf);
    assertRejected(
        runConfig(kernelConfig(noEntry, 1, 128)), BAD_CONFIGURATION, "no-entry.elf", "entry");
  }

  @Test
  void kernelLargerThanMemoryRejected() throws Exception {
    Path guest = TestGuests.guest("serial-echo");
    // 1 MiB of RAM ends where the kernel must start.
    assertRejected(runConfig(kernelConfig(guest, 1, 1)), BAD_CONFIGURATION, "mem_size_mib");
  }

  @Test
  void initrdLargerThanMemoryRejected() throws Exception {
    Path initrd = directory.resolve("big-initrd");
    Files.write(initrd, new byte[9 << 20]);
    String json =
        KilnProcess.configJson(TestGuests.guest("serial-echo"), 1, initrd)
            .replace("\"mem_size_mib\": 128", "\"mem_size_mib\": 8");
    assertRejected(runConfig(json), BAD_CONFIGURATION, "big-initrd", "does not fit");
  }

  @Test
  void invalidJsonRejected() throws Exception {
    assertRejected(
        runConfig("{\"boot-source\": {\"kernel_image_path\": \"x\",}"),
        BAD_CONFIGURATION,
        "not valid JSON",
        "line 1");
  }

  @Test
  void unknownFieldRejected() throws Exception {
    String json =
        kernelConfig(TestGuests.guest("serial-echo"), 1, 128)
            .replace("\"vcpu_count\"", "\"vcpu_cuont\": 1, \"vcpu_count\"");
    assertRejected(runConfig(json), BAD_CONFIGURATION, "vcpu_cuont", "machine-config");
  }

  @Test
  void zeroVcpusRejected() throws Exception {
    assertRejected(
        runConfig(kernelConfig(TestGuests.guest("serial-echo"), 0, 128)),
        BAD_CONFIGURATION,
        "vcpu_count",
        "is 0");
  }

  @Test
  void thirtyThreeVcpusRejected() throws Exception {
    assertRejected(
        runConfig(kernelConfig(TestGuests.guest("serial-echo"), 33, 128)),
        BAD_CONFIGURATION,
        "vcpu_count",
        "is 33");
  }

  @Test
  void zeroMemoryRejected() throws Exception {
    assertRejected(
        runConfig(kernelConfig(TestGuests.guest("serial-echo"), 1, 0)),
        BAD_CONFIGURATION,
        "mem_size_mib",
        "is 0");
  }

  @Test
  void unsupportedSectionRejected() throws Exception {
    String json =
        kernelConfig(TestGuests.guest("serial-echo"), 1, 128)
            .replaceFirst("\\{", "{\"pmem\": [{\"id\": \"pmem0\", \"path_on_host\": \"/tmp/p\"}],");
    assertRejected(runConfig(json), BAD_CONFIGURATION, "pmem", "not supported by Kiln yet");
  }

  @Test
  void controlCharacterInBootArgsRejected() throws Exception {
    String json =
        kernelConfig(TestGuests.guest("serial-echo"), 1, 128)
            .replace("console=ttyS0", "console=ttyS0\\u0000 hidden");
    assertRejected(runConfig(json), BAD_CONFIGURATION, "boot_args", "U+0000");
  }

  @Test
  void oversizedConfigRejected() throws Exception {
    String json =
        kernelConfig(TestGuests.guest("serial-echo"), 1, 128)
            .replace("{", "{" + " ".repeat(2 << 20));
    assertRejected(runConfig(json), BAD_CONFIGURATION, "at most 1048576 bytes");
  }

  @Test
  void kernelPipeRejected() throws Exception {
    Path pipe = directory.resolve("kernel.fifo");
    Process mkfifo = new ProcessBuilder("mkfifo", pipe.toString()).start();
    assertThat(mkfifo.waitFor()).isZero();
    assertRejected(
        runConfig(kernelConfig(pipe, 1, 128)),
        BAD_CONFIGURATION,
        "kernel.fifo",
        "not a regular file");
  }

  @Test
  void missingConfigFileRejected() throws Exception {
    Path missing = directory.resolve("absent.json");
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", missing.toString())) {
      assertRejected(kiln.awaitExit(), BAD_CONFIGURATION, "absent.json", "does not exist");
    }
  }

  @Test
  void unknownFlagRejected() throws Exception {
    try (KilnProcess kiln = KilnProcess.start(directory, "--no-such-flag")) {
      assertRejected(kiln.awaitExit(), ARG_PARSING, "--no-such-flag");
    }
  }

  @Test
  void invalidIdRejected() throws Exception {
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", "x.json", "--id", "bad id!")) {
      assertRejected(kiln.awaitExit(), ARG_PARSING, "bad id!");
    }
  }
}
