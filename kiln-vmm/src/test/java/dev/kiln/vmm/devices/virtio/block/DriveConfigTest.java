package dev.kiln.vmm.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.kiln.vmm.config.ConfigException;
import dev.kiln.vmm.config.DriveConfig;
import dev.kiln.vmm.ratelimiter.RateLimiterConfig;
import dev.kiln.vmm.ratelimiter.TokenBucketConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DriveConfig} parsing and {@link DriveConfig#validate}, one bad input per test. */
class DriveConfigTest {
  private static final ObjectMapper MAPPER =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  @TempDir Path dir;
  private String image;

  @BeforeEach
  void writeImage() throws IOException {
    Path path = dir.resolve("rootfs.ext4");
    Files.write(path, new byte[4096]);
    image = path.toString();
  }

  private DriveConfig drive(String id, boolean root) {
    return new DriveConfig(id, image, root, null, false, null, null, null, null);
  }

  private static void validate(DriveConfig... drives) throws ConfigException {
    DriveConfig.validate(Arrays.asList(drives), "vm.json");
  }

  private static void assertRejected(String message, DriveConfig... drives) {
    assertThatThrownBy(() -> validate(drives))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("vm.json: ")
        .hasMessageContaining(message);
  }

  @Test
  void parsesFirecrackerFields() throws IOException {
    String json =
        """
        [{"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
          "partuuid": "0eaa91a0-01", "is_read_only": true, "cache_type": "Writeback",
          "io_engine": "Sync"}]
        """
            .formatted(image);

    List<DriveConfig> drives = MAPPER.readValue(json, new TypeReference<>() {});

    DriveConfig drive = drives.getFirst();
    assertThat(drive.driveId()).isEqualTo("rootfs");
    assertThat(drive.pathOnHost()).isEqualTo(image);
    assertThat(drive.rootDevice()).isTrue();
    assertThat(drive.partuuid()).isEqualTo("0eaa91a0-01");
    assertThat(drive.readOnly()).isTrue();
    assertThat(drive.cacheTypeSetting()).isEqualTo(DriveConfig.CacheType.WRITEBACK);
    assertThat(drive.ioEngineSetting()).isEqualTo(DriveConfig.IoEngine.SYNC);
    assertThatCode(() -> DriveConfig.validate(drives, "vm.json")).doesNotThrowAnyException();
  }

  @Test
  void defaultsAsFirecracker() {
    DriveConfig drive = new DriveConfig("data", image, false, null, null, null, null, null, null);

    assertThat(drive.readOnly()).isFalse();
    assertThat(drive.cacheTypeSetting()).isEqualTo(DriveConfig.CacheType.UNSAFE);
    assertThat(drive.ioEngineSetting()).isEqualTo(DriveConfig.IoEngine.SYNC);
  }

  @Test
  void validDrivesAccepted() {
    assertThatCode(
            () -> validate(drive("rootfs", true), drive("scratch_1", false), drive("Δ2", false)))
        .doesNotThrowAnyException();
  }

  @Test
  void emptyRateLimiterAccepted() {
    DriveConfig drive =
        new DriveConfig(
            "rootfs",
            image,
            true,
            null,
            false,
            null,
            null,
            new RateLimiterConfig(null, null),
            JSON.nullNode());

    assertThatCode(() -> validate(drive)).doesNotThrowAnyException();
  }

  @Test
  void missingDriveIdRejected() {
    assertRejected("`drives[0]` has no `drive_id`", drive(null, true));
  }

  @Test
  void emptyDriveIdRejected() {
    assertRejected("`drive_id` \"\" is invalid: it is empty", drive("", true));
  }

  @Test
  void driveIdWithHyphenRejected() {
    assertRejected(
        "`drive_id` \"root-fs\" is invalid: character '-' at position 4", drive("root-fs", true));
  }

  @Test
  void driveIdWithSpaceRejected() {
    assertRejected("character ' ' at position 4", drive("root fs", true));
  }

  @Test
  void duplicateDriveIdRejected() {
    assertRejected(
        "drive id \"data\" appears more than once", drive("data", false), drive("data", false));
  }

  @Test
  void secondRootDeviceRejected() {
    assertRejected(
        "drives \"a\" and \"b\" both have `is_root_device` true",
        drive("a", true),
        drive("b", true));
  }

  @Test
  void missingRootFlagRejected() {
    assertRejected(
        "drive \"rootfs\": missing `is_root_device`",
        new DriveConfig("rootfs", image, null, null, null, null, null, null, null));
  }

  @Test
  void missingPathRejected() {
    assertRejected(
        "drive \"rootfs\": missing `path_on_host`",
        new DriveConfig("rootfs", null, true, null, null, null, null, null, null));
  }

  @Test
  void pathNotFoundRejected() {
    String missing = dir.resolve("nope.img").toString();

    assertRejected(
        "`path_on_host` " + missing + " does not exist",
        new DriveConfig("rootfs", missing, true, null, null, null, null, null, null));
  }

  @Test
  void directoryPathRejected() {
    assertRejected(
        "`path_on_host` " + dir + " is not a regular file or block device",
        new DriveConfig("rootfs", dir.toString(), true, null, null, null, null, null, null));
  }

  @Test
  void unknownCacheTypeRejected() {
    assertRejected(
        "drive \"rootfs\": `cache_type` is \"writeback\"; use Unsafe or Writeback",
        new DriveConfig("rootfs", image, true, null, null, "writeback", null, null, null));
  }

  @Test
  void unknownIoEngineRejected() {
    assertRejected(
        "`io_engine` is \"Uring\"; use Sync or Async",
        new DriveConfig("rootfs", image, true, null, null, null, "Uring", null, null));
  }

  @Test
  void asyncIoEngineAccepted() {
    DriveConfig drive =
        new DriveConfig("rootfs", image, true, null, null, null, "Async", null, null);

    assertThatCode(() -> validate(drive)).doesNotThrowAnyException();
    assertThat(drive.ioEngineSetting()).isEqualTo(DriveConfig.IoEngine.ASYNC);
  }

  @Test
  void ioEngineNameIsCaseSensitive() {
    assertRejected(
        "`io_engine` is \"async\"; use Sync or Async",
        new DriveConfig("rootfs", image, true, null, null, null, "async", null, null));
  }

  private DriveConfig limitedDrive(RateLimiterConfig limiter) {
    return new DriveConfig("rootfs", image, true, null, null, null, null, limiter, null);
  }

  @Test
  void rateLimiterAccepted() {
    var limiter =
        new RateLimiterConfig(
            new TokenBucketConfig(1_000_000L, 5_000_000L, 100L),
            new TokenBucketConfig(100L, null, 1000L));

    assertThatCode(() -> validate(limitedDrive(limiter))).doesNotThrowAnyException();
  }

  @Test
  void rateLimiterParsedFromJson() throws IOException {
    String json =
        """
        [{"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
          "rate_limiter": {"bandwidth": {"size": 4096, "one_time_burst": 8192, "refill_time": 10},
                           "ops": {"size": 10, "refill_time": 1000}}}]
        """
            .formatted(image);

    List<DriveConfig> drives = MAPPER.readValue(json, new TypeReference<>() {});
    RateLimiterConfig limiter = drives.getFirst().rateLimiter();

    assertThat(limiter.bandwidth()).isEqualTo(new TokenBucketConfig(4096L, 8192L, 10L));
    assertThat(limiter.ops()).isEqualTo(new TokenBucketConfig(10L, null, 1000L));
  }

  @Test
  void rateLimiterNegativeSizeRejected() {
    var limiter = new RateLimiterConfig(null, new TokenBucketConfig(-1L, null, 1000L));

    assertRejected("drive \"rootfs\": `rate_limiter.ops.size` is -1", limitedDrive(limiter));
  }

  @Test
  void rateLimiterNegativeBurstRejected() {
    var limiter = new RateLimiterConfig(new TokenBucketConfig(100L, -5L, 1000L), null);

    assertRejected("`rate_limiter.bandwidth.one_time_burst` is -5", limitedDrive(limiter));
  }

  @Test
  void rateLimiterMissingRefillTimeRejected() {
    var limiter = new RateLimiterConfig(new TokenBucketConfig(100L, null, null), null);

    assertRejected("missing `rate_limiter.bandwidth.refill_time`", limitedDrive(limiter));
  }

  @Test
  void vhostUserSocketNotSupported() {
    assertRejected(
        "vhost-user drives are not supported",
        new DriveConfig("rootfs", null, true, null, null, null, null, null, JSON.textNode("/s")));
  }

  @Test
  void nullEntryRejected() {
    assertRejected("`drives[1]` is null", drive("rootfs", true), null);
  }

  @Test
  void rootDriveAttachedFirst() {
    DriveConfig data = drive("data", false);
    DriveConfig root = drive("rootfs", true);
    DriveConfig scratch = drive("scratch", false);

    assertThat(DriveConfig.attachOrder(List.of(data, root, scratch)))
        .containsExactly(root, data, scratch);
  }

  @Test
  void kernelRootArguments() {
    assertThat(drive("rootfs", true).kernelRootArguments()).isEqualTo("root=/dev/vda rw");
    assertThat(
            new DriveConfig("rootfs", image, true, "0eaa91a0-01", true, null, null, null, null)
                .kernelRootArguments())
        .isEqualTo("root=PARTUUID=0eaa91a0-01 ro");
  }
}
