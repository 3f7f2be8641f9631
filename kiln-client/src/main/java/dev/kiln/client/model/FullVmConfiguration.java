package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The configuration of every VM resource ({@code GET /vm/config}), in the layout of a configuration
 * file.
 *
 * @param balloon the balloon device
 * @param drives the block devices
 * @param bootSource the boot source
 * @param cpuConfig the CPU configuration
 * @param logger the logger
 * @param machineConfig the machine configuration
 * @param metrics the metrics
 * @param memoryHotplug the hotpluggable memory
 * @param mmdsConfig the MMDS configuration
 * @param networkInterfaces the network interfaces
 * @param pmem the pmem devices
 * @param vsock the vsock device
 * @param entropy the entropy device
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record FullVmConfiguration(
    @JsonProperty("balloon") Balloon balloon,
    @JsonProperty("drives") List<Drive> drives,
    @JsonProperty("boot-source") BootSource bootSource,
    @JsonProperty("cpu-config") CpuConfig cpuConfig,
    @JsonProperty("logger") Logger logger,
    @JsonProperty("machine-config") MachineConfiguration machineConfig,
    @JsonProperty("metrics") Metrics metrics,
    @JsonProperty("memory-hotplug") MemoryHotplugConfig memoryHotplug,
    @JsonProperty("mmds-config") MmdsConfig mmdsConfig,
    @JsonProperty("network-interfaces") List<NetworkInterface> networkInterfaces,
    @JsonProperty("pmem") List<Pmem> pmem,
    @JsonProperty("vsock") Vsock vsock,
    @JsonProperty("entropy") EntropyDevice entropy) {
  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link FullVmConfiguration}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private Balloon balloon;
    private List<Drive> drives;
    private BootSource bootSource;
    private CpuConfig cpuConfig;
    private Logger logger;
    private MachineConfiguration machineConfig;
    private Metrics metrics;
    private MemoryHotplugConfig memoryHotplug;
    private MmdsConfig mmdsConfig;
    private List<NetworkInterface> networkInterfaces;
    private List<Pmem> pmem;
    private Vsock vsock;
    private EntropyDevice entropy;

    private Builder() {}

    /** Sets the balloon device. */
    public Builder balloon(Balloon balloon) {
      this.balloon = balloon;
      return this;
    }

    /** Sets the block devices. */
    public Builder drives(List<Drive> drives) {
      this.drives = drives;
      return this;
    }

    /** Sets the boot source. */
    public Builder bootSource(BootSource bootSource) {
      this.bootSource = bootSource;
      return this;
    }

    /** Sets the CPU configuration. */
    public Builder cpuConfig(CpuConfig cpuConfig) {
      this.cpuConfig = cpuConfig;
      return this;
    }

    /** Sets the logger. */
    public Builder logger(Logger logger) {
      this.logger = logger;
      return this;
    }

    /** Sets the machine configuration. */
    public Builder machineConfig(MachineConfiguration machineConfig) {
      this.machineConfig = machineConfig;
      return this;
    }

    /** Sets the metrics. */
    public Builder metrics(Metrics metrics) {
      this.metrics = metrics;
      return this;
    }

    /** Sets the hotpluggable memory. */
    public Builder memoryHotplug(MemoryHotplugConfig memoryHotplug) {
      this.memoryHotplug = memoryHotplug;
      return this;
    }

    /** Sets the MMDS configuration. */
    public Builder mmdsConfig(MmdsConfig mmdsConfig) {
      this.mmdsConfig = mmdsConfig;
      return this;
    }

    /** Sets the network interfaces. */
    public Builder networkInterfaces(List<NetworkInterface> networkInterfaces) {
      this.networkInterfaces = networkInterfaces;
      return this;
    }

    /** Sets the pmem devices. */
    public Builder pmem(List<Pmem> pmem) {
      this.pmem = pmem;
      return this;
    }

    /** Sets the vsock device. */
    public Builder vsock(Vsock vsock) {
      this.vsock = vsock;
      return this;
    }

    /** Sets the entropy device. */
    public Builder entropy(EntropyDevice entropy) {
      this.entropy = entropy;
      return this;
    }

    /** Creates the {@link FullVmConfiguration}. */
    public FullVmConfiguration build() {
      return new FullVmConfiguration(
          balloon,
          drives,
          bootSource,
          cpuConfig,
          logger,
          machineConfig,
          metrics,
          memoryHotplug,
          mmdsConfig,
          networkInterfaces,
          pmem,
          vsock,
          entropy);
    }
  }
}
