package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The vCPU count, memory size and CPU options of the VM ({@code /machine-config}).
 *
 * @param vcpuCount number of vCPUs, 1 to 32 (1 or an even number when SMT is on); required in a PUT
 * @param memSizeMib guest memory size in MiB; required in a PUT
 * @param smt whether simultaneous multithreading is on (x86_64 only)
 * @param trackDirtyPages whether KVM tracks dirty pages, which diff snapshots need
 * @param hugePages the pages that back guest memory
 * @param cpuTemplate deprecated static CPU template
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MachineConfiguration(
    @JsonProperty("vcpu_count") Integer vcpuCount,
    @JsonProperty("mem_size_mib") Integer memSizeMib,
    @JsonProperty("smt") Boolean smt,
    @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
    @JsonProperty("huge_pages") HugePages hugePages,
    @JsonProperty("cpu_template") CpuTemplate cpuTemplate) {
  /** The pages that back guest memory. */
  public enum HugePages {
    /** Regular 4 KiB pages. */
    @JsonProperty("None")
    NONE,

    /** Transparent huge pages, requested with {@code madvise(MADV_HUGEPAGE)}. */
    @JsonProperty("Transparent")
    TRANSPARENT,

    /** Explicit 2 MiB hugetlbfs pages; the memory size must then be a multiple of 2 MiB. */
    @JsonProperty("2M")
    HUGETLBFS_2M
  }

  /** Creates a configuration with the given vCPU count and memory size, other fields unset. */
  public static MachineConfiguration of(int vcpuCount, int memSizeMib) {
    return builder().vcpuCount(vcpuCount).memSizeMib(memSizeMib).build();
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link MachineConfiguration}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private Integer vcpuCount;
    private Integer memSizeMib;
    private Boolean smt;
    private Boolean trackDirtyPages;
    private HugePages hugePages;
    private CpuTemplate cpuTemplate;

    private Builder() {}

    /** Sets the number of vCPUs, 1 to 32 (1 or an even number when SMT is on). */
    public Builder vcpuCount(Integer vcpuCount) {
      this.vcpuCount = vcpuCount;
      return this;
    }

    /** Sets the guest memory size in MiB. */
    public Builder memSizeMib(Integer memSizeMib) {
      this.memSizeMib = memSizeMib;
      return this;
    }

    /** Sets whether simultaneous multithreading is on (x86_64 only). */
    public Builder smt(Boolean smt) {
      this.smt = smt;
      return this;
    }

    /** Sets whether KVM tracks dirty pages, which diff snapshots need. */
    public Builder trackDirtyPages(Boolean trackDirtyPages) {
      this.trackDirtyPages = trackDirtyPages;
      return this;
    }

    /** Sets the pages that back guest memory. */
    public Builder hugePages(HugePages hugePages) {
      this.hugePages = hugePages;
      return this;
    }

    /** Sets the deprecated static CPU template. */
    public Builder cpuTemplate(CpuTemplate cpuTemplate) {
      this.cpuTemplate = cpuTemplate;
      return this;
    }

    /** Creates the {@link MachineConfiguration}. */
    public MachineConfiguration build() {
      return new MachineConfiguration(
          vcpuCount, memSizeMib, smt, trackDirtyPages, hugePages, cpuTemplate);
    }
  }
}
