package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The snapshot to load into a fresh process ({@code PUT /snapshot/load}). Set exactly one of {@code
 * mem_file_path} and {@code mem_backend}.
 *
 * @param snapshotPath host path of the VM state file; required
 * @param memFilePath deprecated host path of the guest memory file
 * @param memBackend the source of guest memory
 * @param enableDiffSnapshots deprecated name of {@code track_dirty_pages}
 * @param trackDirtyPages whether KVM tracks dirty pages after the load
 * @param resumeVm whether the VM resumes after the load
 * @param networkOverrides new TAP devices for network interfaces
 * @param vsockOverride new Unix socket path for the vsock device
 * @param clockRealtime whether kvmclock advances by the wall-clock time since the snapshot (x86_64)
 * @param hugePages the pages that back the restored guest memory
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotLoadParams(
    @JsonProperty("snapshot_path") String snapshotPath,
    @JsonProperty("mem_file_path") String memFilePath,
    @JsonProperty("mem_backend") MemoryBackend memBackend,
    @JsonProperty("enable_diff_snapshots") Boolean enableDiffSnapshots,
    @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
    @JsonProperty("resume_vm") Boolean resumeVm,
    @JsonProperty("network_overrides") List<NetworkOverride> networkOverrides,
    @JsonProperty("vsock_override") VsockOverride vsockOverride,
    @JsonProperty("clock_realtime") Boolean clockRealtime,
    @JsonProperty("huge_pages") HugePages hugePages) {
  /** The pages that back restored guest memory. */
  public enum HugePages {
    /** The setting stored in the snapshot. */
    @JsonProperty("Snapshot")
    SNAPSHOT,

    /** Regular 4 KiB pages. */
    @JsonProperty("None")
    NONE,

    /** Transparent huge pages. */
    @JsonProperty("Transparent")
    TRANSPARENT,

    /** Explicit 2 MiB hugetlbfs pages, which need a UFFD backend. */
    @JsonProperty("2M")
    HUGETLBFS_2M
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link SnapshotLoadParams}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private String snapshotPath;
    private String memFilePath;
    private MemoryBackend memBackend;
    private Boolean enableDiffSnapshots;
    private Boolean trackDirtyPages;
    private Boolean resumeVm;
    private List<NetworkOverride> networkOverrides;
    private VsockOverride vsockOverride;
    private Boolean clockRealtime;
    private HugePages hugePages;

    private Builder() {}

    /** Sets the host path of the VM state file. */
    public Builder snapshotPath(String snapshotPath) {
      this.snapshotPath = snapshotPath;
      return this;
    }

    /** Sets the deprecated host path of the guest memory file. */
    public Builder memFilePath(String memFilePath) {
      this.memFilePath = memFilePath;
      return this;
    }

    /** Sets the source of guest memory. */
    public Builder memBackend(MemoryBackend memBackend) {
      this.memBackend = memBackend;
      return this;
    }

    /** Sets the deprecated name of {@code track_dirty_pages}. */
    public Builder enableDiffSnapshots(Boolean enableDiffSnapshots) {
      this.enableDiffSnapshots = enableDiffSnapshots;
      return this;
    }

    /** Sets whether KVM tracks dirty pages after the load. */
    public Builder trackDirtyPages(Boolean trackDirtyPages) {
      this.trackDirtyPages = trackDirtyPages;
      return this;
    }

    /** Sets whether the VM resumes after the load. */
    public Builder resumeVm(Boolean resumeVm) {
      this.resumeVm = resumeVm;
      return this;
    }

    /** Sets the new TAP devices for network interfaces. */
    public Builder networkOverrides(List<NetworkOverride> networkOverrides) {
      this.networkOverrides = networkOverrides;
      return this;
    }

    /** Sets the new Unix socket path for the vsock device. */
    public Builder vsockOverride(VsockOverride vsockOverride) {
      this.vsockOverride = vsockOverride;
      return this;
    }

    /** Sets whether kvmclock advances by the wall-clock time since the snapshot (x86_64). */
    public Builder clockRealtime(Boolean clockRealtime) {
      this.clockRealtime = clockRealtime;
      return this;
    }

    /** Sets the pages that back the restored guest memory. */
    public Builder hugePages(HugePages hugePages) {
      this.hugePages = hugePages;
      return this;
    }

    /** Creates the {@link SnapshotLoadParams}. */
    public SnapshotLoadParams build() {
      return new SnapshotLoadParams(
          snapshotPath,
          memFilePath,
          memBackend,
          enableDiffSnapshots,
          trackDirtyPages,
          resumeVm,
          networkOverrides,
          vsockOverride,
          clockRealtime,
          hugePages);
    }
  }
}
