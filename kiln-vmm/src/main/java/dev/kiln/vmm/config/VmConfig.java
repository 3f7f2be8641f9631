package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole VM configuration in Firecracker's {@code --config-file} format (the {@code
 * FullVmConfiguration} definition of its API). The device sections Kiln does not have yet are kept
 * as raw JSON so that {@link VmConfigParser} can reject them by name.
 */
public record VmConfig(
    @JsonProperty("boot-source") BootSourceConfig bootSource,
    @JsonProperty("machine-config") MachineConfig machineConfig,
    @JsonProperty("logger") LoggerConfig logger,
    @JsonProperty("serial") SerialConfig serial,
    @JsonProperty("drives") List<DriveConfig> drives,
    @JsonProperty("network-interfaces") List<NetworkInterfaceConfig> networkInterfaces,
    @JsonProperty("vsock") VsockConfig vsock,
    @JsonProperty("balloon") BalloonConfig balloon,
    @JsonProperty("entropy") EntropyConfig entropy,
    @JsonProperty("metrics") MetricsConfig metrics,
    @JsonProperty("mmds-config") JsonNode mmdsConfig,
    @JsonProperty("cpu-config") JsonNode cpuConfig,
    @JsonProperty("memory-hotplug") JsonNode memoryHotplug,
    @JsonProperty("pmem") JsonNode pmem) {

  /** Returns the machine configuration, Firecracker's default when the section is absent. */
  public MachineConfig machine() {
    return machineConfig == null ? MachineConfig.DEFAULT : machineConfig;
  }

  /** Returns the drives, an empty list when the section is absent. */
  public List<DriveConfig> driveList() {
    return drives == null ? List.of() : drives;
  }

  /** Returns the network interfaces, an empty list when the section is absent. */
  public List<NetworkInterfaceConfig> networkInterfaceList() {
    return networkInterfaces == null ? List.of() : networkInterfaces;
  }

  /** Returns the sections Kiln cannot act on yet, by name, with their JSON values. */
  Map<String, JsonNode> unsupportedSections() {
    Map<String, JsonNode> sections = new LinkedHashMap<>();
    sections.put("cpu-config", cpuConfig);
    sections.put("memory-hotplug", memoryHotplug);
    sections.put("pmem", pmem);
    return sections;
  }
}
