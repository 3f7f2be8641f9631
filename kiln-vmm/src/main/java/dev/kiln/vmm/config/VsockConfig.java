package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The {@code vsock} section: Firecracker's {@code Vsock} definition. Its presence adds a
 * virtio-vsock device whose host side is the Unix socket at {@code uds_path}.
 *
 * @param guestCid the guest's context id, 3 or more and at most 2^32 - 1; required
 * @param udsPath where Kiln creates its listening socket; guest connections to host port P go to
 *     {@code <uds_path>_P}; required
 * @param vsockId deprecated in Firecracker: accepted, unused, and kept only to be shown back
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VsockConfig(
    @JsonProperty("guest_cid") Long guestCid,
    @JsonProperty("uds_path") String udsPath,
    @JsonProperty("vsock_id") String vsockId) {

  /** The lowest guest CID: 0, 1 and 2 are reserved (linux/vm_sockets.h). */
  public static final long MIN_GUEST_CID = 3;

  /** The highest guest CID: Firecracker keeps it in a u32. */
  public static final long MAX_GUEST_CID = 0xffff_ffffL;

  /**
   * The longest {@code uds_path} in bytes: {@code sun_path} in {@code struct sockaddr_un} has 108
   * bytes with the terminating NUL (linux/un.h).
   */
  public static final int MAX_UDS_PATH_BYTES = 107;

  /**
   * Checks the section by Firecracker's rules, and that Kiln can create the socket: the path fits a
   * socket address, its directory exists and nothing is at the path yet. Firecracker's bind fails
   * on an existing file ({@code EADDRINUSE}); Kiln reports that before the VM starts and leaves the
   * file alone.
   *
   * @param source where the configuration came from, for messages
   * @throws ConfigException naming the field, its value and what to change
   */
  public void validate(String source) throws ConfigException {
    if (guestCid == null) {
      throw new ConfigException(
          source + ": missing `vsock.guest_cid`; give the guest's context id, 3 or more");
    }
    if (guestCid < MIN_GUEST_CID || guestCid > MAX_GUEST_CID) {
      throw new ConfigException(
          String.format(
              "%s: `vsock.guest_cid` is %d; it must be between %d and %d, because 0, 1 and 2 are"
                  + " reserved (2 is the host)",
              source, guestCid, MIN_GUEST_CID, MAX_GUEST_CID));
    }
    if (udsPath == null || udsPath.isEmpty()) {
      throw new ConfigException(
          source + ": missing `vsock.uds_path`; give the path where Kiln creates its Unix socket");
    }
    if (udsPath.indexOf('\0') >= 0) {
      throw new ConfigException(
          source + ": `vsock.uds_path` contains a NUL character; give a plain file path");
    }
    int bytes = udsPath.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_UDS_PATH_BYTES) {
      throw new ConfigException(
          String.format(
              "%s: `vsock.uds_path` \"%s\" is %d bytes; a Unix socket path holds at most %d, so"
                  + " use a shorter path",
              source, udsPath, bytes, MAX_UDS_PATH_BYTES));
    }
    Path path = Path.of(udsPath);
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      throw new ConfigException(
          String.format(
              "%s: `vsock.uds_path` \"%s\" already exists; remove it (it may be left from an"
                  + " earlier VM) or choose another path",
              source, udsPath));
    }
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new ConfigException(
          String.format(
              "%s: the directory %s of `vsock.uds_path` \"%s\" does not exist; create it or"
                  + " choose another path",
              source, parent, udsPath));
    }
  }
}
