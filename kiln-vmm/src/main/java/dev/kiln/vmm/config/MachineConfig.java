package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code machine-config} section: Firecracker's {@code MachineConfiguration} definition.
 *
 * @param vcpuCount vCPUs, 1 to 32; with {@code smt}, 1 or an even number
 * @param memSizeMib guest RAM in MiB
 * @param smt whether vCPUs pair up as two hardware threads of one core
 * @param trackDirtyPages whether KVM keeps a dirty-page log of guest memory
 * @param hugePages {@code None}, {@code Transparent} or {@code 2M}
 * @param cpuTemplate a CPU template name; Kiln has none yet, so only {@code None} is accepted
 */
public record MachineConfig(
    @JsonProperty("vcpu_count") Integer vcpuCount,
    @JsonProperty("mem_size_mib") Integer memSizeMib,
    @JsonProperty("smt") Boolean smt,
    @JsonProperty("track_dirty_pages") Boolean trackDirtyPages,
    @JsonProperty("huge_pages") String hugePages,
    @JsonProperty("cpu_template") String cpuTemplate) {

  /** The largest vCPU count, as in Firecracker. */
  public static final int MAX_VCPUS = 32;

  /** The configuration Firecracker applies when a config file has no {@code machine-config}. */
  public static final MachineConfig DEFAULT = new MachineConfig(1, 128, false, false, "None", null);

  /** Returns {@code smt}, false when absent. */
  public boolean smtEnabled() {
    return Boolean.TRUE.equals(smt);
  }

  /** Returns {@code track_dirty_pages}, false when absent. */
  public boolean dirtyPageTracking() {
    return Boolean.TRUE.equals(trackDirtyPages);
  }

  /** Returns the huge-page setting, {@link HugePages#NONE} when absent. */
  public HugePages hugePageSetting() {
    return HugePages.fromName(hugePages);
  }
}
