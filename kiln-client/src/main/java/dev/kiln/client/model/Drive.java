package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A block device: a virtio-block drive backed by a host file, or a vhost-user-block drive backed by
 * a socket ({@code PUT /drives/{drive_id}}).
 *
 * @param driveId the drive's id, equal to the id in the request path; required
 * @param partuuid unique id of the boot partition, used only for the root device
 * @param isRootDevice whether the guest mounts this drive as its root file system; required
 * @param cacheType the caching strategy
 * @param isReadOnly whether the drive is read-only for the guest (virtio-block only)
 * @param pathOnHost host path of the backing file (virtio-block only)
 * @param rateLimiter the drive's I/O rate limiter (virtio-block only)
 * @param ioEngine the host I/O engine (virtio-block only)
 * @param socket path of the vhost-user-block backend's socket (vhost-user-block only)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Drive(
    @JsonProperty("drive_id") String driveId,
    @JsonProperty("partuuid") String partuuid,
    @JsonProperty("is_root_device") Boolean isRootDevice,
    @JsonProperty("cache_type") CacheType cacheType,
    @JsonProperty("is_read_only") Boolean isReadOnly,
    @JsonProperty("path_on_host") String pathOnHost,
    @JsonProperty("rate_limiter") RateLimiter rateLimiter,
    @JsonProperty("io_engine") IoEngine ioEngine,
    @JsonProperty("socket") String socket) {
  /** The caching strategy of a drive. */
  public enum CacheType {
    /** Flush requests from the guest are ignored. */
    @JsonProperty("Unsafe")
    UNSAFE,

    /** Flush requests from the guest reach the host file. */
    @JsonProperty("Writeback")
    WRITEBACK
  }

  /** The host I/O engine of a virtio-block drive. */
  public enum IoEngine {
    /** Uses synchronous system calls. */
    @JsonProperty("Sync")
    SYNC,

    /** Uses io_uring, on host kernels newer than 5.10.51. */
    @JsonProperty("Async")
    ASYNC
  }

  /** Creates a virtio-block drive backed by the host file {@code pathOnHost}. */
  public static Drive virtioBlock(
      String driveId, String pathOnHost, boolean isRootDevice, boolean isReadOnly) {
    return builder()
        .driveId(driveId)
        .pathOnHost(pathOnHost)
        .isRootDevice(isRootDevice)
        .isReadOnly(isReadOnly)
        .build();
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link Drive}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private String driveId;
    private String partuuid;
    private Boolean isRootDevice;
    private CacheType cacheType;
    private Boolean isReadOnly;
    private String pathOnHost;
    private RateLimiter rateLimiter;
    private IoEngine ioEngine;
    private String socket;

    private Builder() {}

    /** Sets the drive's id, equal to the id in the request path. */
    public Builder driveId(String driveId) {
      this.driveId = driveId;
      return this;
    }

    /** Sets the unique id of the boot partition, used only for the root device. */
    public Builder partuuid(String partuuid) {
      this.partuuid = partuuid;
      return this;
    }

    /** Sets whether the guest mounts this drive as its root file system. */
    public Builder isRootDevice(Boolean isRootDevice) {
      this.isRootDevice = isRootDevice;
      return this;
    }

    /** Sets the caching strategy. */
    public Builder cacheType(CacheType cacheType) {
      this.cacheType = cacheType;
      return this;
    }

    /** Sets whether the drive is read-only for the guest (virtio-block only). */
    public Builder isReadOnly(Boolean isReadOnly) {
      this.isReadOnly = isReadOnly;
      return this;
    }

    /** Sets the host path of the backing file (virtio-block only). */
    public Builder pathOnHost(String pathOnHost) {
      this.pathOnHost = pathOnHost;
      return this;
    }

    /** Sets the drive's I/O rate limiter (virtio-block only). */
    public Builder rateLimiter(RateLimiter rateLimiter) {
      this.rateLimiter = rateLimiter;
      return this;
    }

    /** Sets the host I/O engine (virtio-block only). */
    public Builder ioEngine(IoEngine ioEngine) {
      this.ioEngine = ioEngine;
      return this;
    }

    /** Sets the path of the vhost-user-block backend's socket (vhost-user-block only). */
    public Builder socket(String socket) {
      this.socket = socket;
      return this;
    }

    /** Creates the {@link Drive}. */
    public Drive build() {
      return new Drive(
          driveId,
          partuuid,
          isRootDevice,
          cacheType,
          isReadOnly,
          pathOnHost,
          rateLimiter,
          ioEngine,
          socket);
    }
  }
}
