package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.vmm.ratelimiter.RateLimiterConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One entry of the {@code drives} section: Firecracker's {@code Drive} definition. Kiln backs each
 * drive with a virtio block device on a host file or block device.
 *
 * @param driveId the drive's name: letters, digits and underscores
 * @param pathOnHost the disk image or block device on the host
 * @param isRootDevice whether the guest boots from this drive; at most one drive may be root
 * @param partuuid the root partition's PARTUUID; with it the kernel gets {@code root=PARTUUID=...}
 *     instead of {@code root=/dev/vda}
 * @param isReadOnly whether the drive is read-only for the guest; false when absent
 * @param cacheType {@code Unsafe} (the default) or {@code Writeback}, which offers the guest the
 *     flush command
 * @param ioEngine {@code Sync} (the default) or {@code Async}, which uses io_uring
 * @param rateLimiter limits on the drive's bytes and requests per second; no limit when absent
 * @param socket the socket of a vhost-user block backend; not supported
 */
public record DriveConfig(
    @JsonProperty("drive_id") String driveId,
    @JsonProperty("path_on_host") String pathOnHost,
    @JsonProperty("is_root_device") Boolean isRootDevice,
    @JsonProperty("partuuid") String partuuid,
    @JsonProperty("is_read_only") Boolean isReadOnly,
    @JsonProperty("cache_type") String cacheType,
    @JsonProperty("io_engine") String ioEngine,
    @JsonProperty("rate_limiter") RateLimiterConfig rateLimiter,
    @JsonProperty("socket") JsonNode socket) {

  /** The {@code cache_type} values. */
  public enum CacheType {
    /** The device does not offer flush, and the host page cache may lose the guest's writes. */
    UNSAFE("Unsafe"),
    /** The device offers flush, and a flush commits the guest's writes to the host's storage. */
    WRITEBACK("Writeback");

    private final String configName;

    CacheType(String configName) {
      this.configName = configName;
    }

    /** Returns the name used in the configuration. */
    public String configName() {
      return configName;
    }
  }

  /** The {@code io_engine} values. */
  public enum IoEngine {
    /** Blocking reads and writes on the device thread. */
    SYNC("Sync"),
    /**
     * io_uring: reads, writes and flushes run in the background, many at a time. The host must
     * allow io_uring; Kiln checks that when it creates the device, before the VM starts.
     */
    ASYNC("Async");

    private final String configName;

    IoEngine(String configName) {
      this.configName = configName;
    }

    /** Returns the name used in the configuration. */
    public String configName() {
      return configName;
    }
  }

  // stat(2) file type bits, from linux/stat.h.
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFBLK = 0060000;

  /** Returns {@code is_root_device}, false when absent. */
  public boolean rootDevice() {
    return Boolean.TRUE.equals(isRootDevice);
  }

  /** Returns {@code is_read_only}, false when absent as in Firecracker. */
  public boolean readOnly() {
    return Boolean.TRUE.equals(isReadOnly);
  }

  /**
   * Returns the cache type, {@link CacheType#UNSAFE} when absent.
   *
   * @throws IllegalArgumentException for a value that is not a {@code cache_type}
   */
  public CacheType cacheTypeSetting() {
    if (cacheType == null) {
      return CacheType.UNSAFE;
    }
    for (CacheType type : CacheType.values()) {
      if (type.configName.equals(cacheType)) {
        return type;
      }
    }
    throw new IllegalArgumentException(cacheType);
  }

  /**
   * Returns the I/O engine, {@link IoEngine#SYNC} when absent.
   *
   * @throws IllegalArgumentException for a value that is not an {@code io_engine}
   */
  public IoEngine ioEngineSetting() {
    if (ioEngine == null) {
      return IoEngine.SYNC;
    }
    for (IoEngine engine : IoEngine.values()) {
      if (engine.configName.equals(ioEngine)) {
        return engine;
      }
    }
    throw new IllegalArgumentException(ioEngine);
  }

  /**
   * Returns the kernel parameters for a root drive, as Firecracker adds them: {@code
   * root=PARTUUID=<partuuid>} or {@code root=/dev/vda}, then {@code ro} or {@code rw}. {@code
   * /dev/vda} is right only when the root drive is the first virtio block device, which {@link
   * #attachOrder} arranges.
   */
  public String kernelRootArguments() {
    String root = partuuid != null ? "root=PARTUUID=" + partuuid : "root=/dev/vda";
    return root + (readOnly() ? " ro" : " rw");
  }

  /**
   * Returns the drives in the order their devices should be attached: the root drive first, then
   * the others in configuration order, as Firecracker orders them.
   */
  public static List<DriveConfig> attachOrder(List<DriveConfig> drives) {
    List<DriveConfig> ordered = new ArrayList<>();
    for (DriveConfig drive : drives) {
      if (drive.rootDevice()) {
        ordered.add(drive);
      }
    }
    for (DriveConfig drive : drives) {
      if (!drive.rootDevice()) {
        ordered.add(drive);
      }
    }
    return ordered;
  }

  /**
   * Checks the {@code drives} section: ids, required fields, the enum values, the features Kiln
   * lacks, and that each {@code path_on_host} is a readable regular file or block device (and
   * writable unless the drive is read-only).
   *
   * @param source where the configuration came from, for messages
   * @throws ConfigException naming the drive, the field and the value, on the first problem found
   */
  public static void validate(List<DriveConfig> drives, String source) throws ConfigException {
    Set<String> ids = new HashSet<>();
    String rootId = null;
    for (int i = 0; i < drives.size(); i++) {
      DriveConfig drive = drives.get(i);
      if (drive == null) {
        throw new ConfigException(
            String.format(
                "%s: `drives[%d]` is null; give a drive object or remove the entry", source, i));
      }
      drive.validateOne(i, source);
      if (!ids.add(drive.driveId)) {
        throw new ConfigException(
            String.format(
                "%s: drive id \"%s\" appears more than once in `drives`; give each drive its own"
                    + " id",
                source, drive.driveId));
      }
      if (drive.rootDevice()) {
        if (rootId != null) {
          throw new ConfigException(
              String.format(
                  "%s: drives \"%s\" and \"%s\" both have `is_root_device` true; only one drive"
                      + " can be the root device",
                  source, rootId, drive.driveId));
        }
        rootId = drive.driveId;
      }
    }
  }

  private void validateOne(int index, String source) throws ConfigException {
    if (driveId == null) {
      throw new ConfigException(
          String.format("%s: `drives[%d]` has no `drive_id`; add one", source, index));
    }
    String name = String.format("%s: drive \"%s\"", source, driveId);

    String idProblem = idProblem(driveId);
    if (idProblem != null) {
      throw new ConfigException(
          String.format(
              "%s: `drive_id` \"%s\" is invalid: %s; use letters, digits and underscores",
              source, driveId, idProblem));
    }
    if (isSet(socket)) {
      throw new ConfigException(
          name
              + ": `socket` is set, but vhost-user drives are not supported by Kiln; give"
              + " `path_on_host` instead");
    }

    if (isRootDevice == null) {
      throw new ConfigException(name + ": missing `is_root_device`; set it to true or false");
    }
    if (pathOnHost == null || pathOnHost.isEmpty()) {
      throw new ConfigException(
          name + ": missing `path_on_host`; give the disk image or block device to use");
    }

    try {
      cacheTypeSetting();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          String.format("%s: `cache_type` is \"%s\"; use Unsafe or Writeback", name, cacheType));
    }
    try {
      ioEngineSetting();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          String.format("%s: `io_engine` is \"%s\"; use Sync or Async", name, ioEngine));
    }

    if (rateLimiter != null) {
      rateLimiter.validate(name, "rate_limiter");
    }

    checkPath(name);
  }

  /**
   * Returns why an id breaks Firecracker's rule for device ids, or null when it follows it. The
   * rule (Firecracker's API server, {@code checked_id}) is: not empty, and every character is
   * alphanumeric in the Unicode sense or an underscore. Firecracker sets no maximum length.
   */
  static String idProblem(String id) {
    if (id.isEmpty()) {
      return "it is empty";
    }
    for (int i = 0; i < id.length(); ) {
      int c = id.codePointAt(i);
      if (c != '_' && !isAlphanumeric(c)) {
        return String.format("character '%s' at position %d", Character.toString(c), i);
      }
      i += Character.charCount(c);
    }
    return null;
  }

  /** Matches Rust's {@code char::is_alphanumeric}: the Alphabetic property or a Number category. */
  private static boolean isAlphanumeric(int c) {
    int type = Character.getType(c);
    return Character.isAlphabetic(c)
        || type == Character.DECIMAL_DIGIT_NUMBER
        || type == Character.LETTER_NUMBER
        || type == Character.OTHER_NUMBER;
  }

  private void checkPath(String name) throws ConfigException {
    Path path;
    try {
      path = Path.of(pathOnHost);
    } catch (InvalidPathException e) {
      throw new ConfigException(
          String.format(
              "%s: `path_on_host` \"%s\" is not a valid path: %s",
              name, pathOnHost, e.getMessage()),
          e);
    }
    if (!Files.exists(path)) {
      throw new ConfigException(
          String.format("%s: `path_on_host` %s does not exist; check the path", name, path));
    }
    int mode;
    try {
      mode = (Integer) Files.getAttribute(path, "unix:mode");
    } catch (IOException | UnsupportedOperationException e) {
      throw new ConfigException(
          String.format(
              "%s: cannot read the file type of `path_on_host` %s: %s", name, path, e.getMessage()),
          e);
    }
    int type = mode & S_IFMT;
    if (type != S_IFREG && type != S_IFBLK) {
      throw new ConfigException(
          String.format(
              "%s: `path_on_host` %s is not a regular file or block device; give a disk image or"
                  + " a block device",
              name, path));
    }
    if (!Files.isReadable(path)) {
      throw new ConfigException(
          String.format(
              "%s: `path_on_host` %s is not readable; check its permissions", name, path));
    }
    if (!readOnly() && !Files.isWritable(path)) {
      throw new ConfigException(
          String.format(
              "%s: `path_on_host` %s is not writable; check its permissions or set"
                  + " `is_read_only` to true",
              name, path));
    }
  }

  private static boolean isSet(JsonNode node) {
    return node != null && !node.isNull();
  }
}
