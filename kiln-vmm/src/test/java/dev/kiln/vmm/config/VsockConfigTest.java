package dev.kiln.vmm.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code vsock} section: Firecracker's fields and the checks made before the VM starts. */
class VsockConfigTest {
  private static final String SOURCE = "vm.json";

  @TempDir Path directory;

  private static String config(String vsockBody) {
    return "{\"boot-source\": {\"kernel_image_path\": \"vmlinux\"}, \"vsock\": {"
        + vsockBody
        + "}}";
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(String json) {
    return assertThatThrownBy(() -> VmConfigParser.parse(json, SOURCE))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(SOURCE);
  }

  private String socketPath() {
    return directory.resolve("v.sock").toString();
  }

  @Test
  void sectionWithVsockIdAccepted() throws ConfigException {
    VmConfig config =
        VmConfigParser.parse(
            config(
                "\"vsock_id\": \"vsock0\", \"guest_cid\": 3, \"uds_path\": \""
                    + socketPath()
                    + "\""),
            SOURCE);

    assertThat(config.vsock().guestCid()).isEqualTo(3L);
    assertThat(config.vsock().udsPath()).isEqualTo(socketPath());
    assertThat(config.vsock().vsockId()).isEqualTo("vsock0");
  }

  @Test
  void largestCidAccepted() throws ConfigException {
    VmConfig config =
        VmConfigParser.parse(
            config("\"guest_cid\": 4294967295, \"uds_path\": \"" + socketPath() + "\""), SOURCE);

    assertThat(config.vsock().guestCid()).isEqualTo(0xffff_ffffL);
  }

  @ParameterizedTest
  @ValueSource(longs = {-1, 0, 1, 2, 4294967296L})
  void reservedOrOversizedCidRejected(long cid) {
    assertRejected(config("\"guest_cid\": " + cid + ", \"uds_path\": \"" + socketPath() + "\""))
        .hasMessageContaining("`vsock.guest_cid` is " + cid)
        .hasMessageContaining("between 3 and 4294967295");
  }

  @Test
  void missingCidRejected() {
    assertRejected(config("\"uds_path\": \"" + socketPath() + "\""))
        .hasMessageContaining("missing `vsock.guest_cid`");
  }

  @Test
  void missingPathRejected() {
    assertRejected(config("\"guest_cid\": 3")).hasMessageContaining("missing `vsock.uds_path`");
  }

  @Test
  void existingPathRejected() throws Exception {
    Path existing = Files.createFile(directory.resolve("left-over.sock"));

    assertRejected(config("\"guest_cid\": 3, \"uds_path\": \"" + existing + "\""))
        .hasMessageContaining(existing.toString())
        .hasMessageContaining("already exists")
        .hasMessageContaining("remove it");
    assertThat(existing).as("Kiln leaves an existing file alone").exists();
  }

  @Test
  void danglingSymlinkCountsAsExisting() throws Exception {
    Path link = directory.resolve("link.sock");
    Files.createSymbolicLink(link, directory.resolve("nowhere"));

    assertRejected(config("\"guest_cid\": 3, \"uds_path\": \"" + link + "\""))
        .hasMessageContaining("already exists");
  }

  @Test
  void pathTooLongForSocketAddressRejected() {
    String path = directory.resolve("s".repeat(120)).toString();

    assertRejected(config("\"guest_cid\": 3, \"uds_path\": \"" + path + "\""))
        .hasMessageContaining("at most 107")
        .hasMessageContaining("shorter path");
  }

  @Test
  void missingDirectoryRejected() {
    Path path = directory.resolve("no-such-dir").resolve("v.sock");

    assertRejected(config("\"guest_cid\": 3, \"uds_path\": \"" + path + "\""))
        .hasMessageContaining(directory.resolve("no-such-dir").toString())
        .hasMessageContaining("does not exist");
  }

  @Test
  void unknownFieldRejected() {
    assertRejected(config("\"guest_cid\": 3, \"uds_path\": \"" + socketPath() + "\", \"port\": 52"))
        .hasMessageContaining("unknown field `port`");
  }
}
