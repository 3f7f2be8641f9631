package dev.kiln.client;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.client.model.Balloon;
import dev.kiln.client.model.BalloonHintingStatus;
import dev.kiln.client.model.BalloonStartCmd;
import dev.kiln.client.model.BalloonStats;
import dev.kiln.client.model.BalloonStatsUpdate;
import dev.kiln.client.model.BalloonUpdate;
import dev.kiln.client.model.BootSource;
import dev.kiln.client.model.CpuConfig;
import dev.kiln.client.model.CpuTemplate;
import dev.kiln.client.model.Drive;
import dev.kiln.client.model.EntropyDevice;
import dev.kiln.client.model.FirecrackerVersion;
import dev.kiln.client.model.FullVmConfiguration;
import dev.kiln.client.model.InstanceActionInfo;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.Logger;
import dev.kiln.client.model.MachineConfiguration;
import dev.kiln.client.model.MemoryBackend;
import dev.kiln.client.model.MemoryHotplugConfig;
import dev.kiln.client.model.MemoryHotplugSizeUpdate;
import dev.kiln.client.model.MemoryHotplugStatus;
import dev.kiln.client.model.Metrics;
import dev.kiln.client.model.MmdsConfig;
import dev.kiln.client.model.NetworkInterface;
import dev.kiln.client.model.NetworkOverride;
import dev.kiln.client.model.PartialDrive;
import dev.kiln.client.model.PartialNetworkInterface;
import dev.kiln.client.model.PartialPmem;
import dev.kiln.client.model.Pmem;
import dev.kiln.client.model.RateLimiter;
import dev.kiln.client.model.SerialDevice;
import dev.kiln.client.model.SnapshotCreateParams;
import dev.kiln.client.model.SnapshotLoadParams;
import dev.kiln.client.model.TokenBucket;
import dev.kiln.client.model.Vm;
import dev.kiln.client.model.Vsock;
import dev.kiln.client.model.VsockOverride;
import java.util.List;
import java.util.Map;

/** Model instances with every field set, keyed by the swagger definition they implement. */
final class Samples {
  private Samples() {}

  static final TokenBucket TOKEN_BUCKET = new TokenBucket(1_000_000L, 500_000L, 100L);
  static final RateLimiter RATE_LIMITER =
      new RateLimiter(TOKEN_BUCKET, new TokenBucket(100L, 10L, 1000L));

  static final BootSource BOOT_SOURCE =
      new BootSource("/guest/vmlinux", "console=ttyS0 reboot=k", "/guest/initrd.cpio");

  static final MachineConfiguration MACHINE_CONFIGURATION =
      MachineConfiguration.builder()
          .vcpuCount(2)
          .memSizeMib(256)
          .smt(false)
          .trackDirtyPages(true)
          .hugePages(MachineConfiguration.HugePages.HUGETLBFS_2M)
          .cpuTemplate(CpuTemplate.NONE)
          .build();

  static final Drive DRIVE =
      Drive.builder()
          .driveId("rootfs")
          .partuuid("0eaa91a0-01")
          .isRootDevice(true)
          .cacheType(Drive.CacheType.WRITEBACK)
          .isReadOnly(false)
          .pathOnHost("/guest/rootfs.ext4")
          .rateLimiter(RATE_LIMITER)
          .ioEngine(Drive.IoEngine.ASYNC)
          .socket("/run/vhost-user-blk.sock")
          .build();

  static final PartialDrive PARTIAL_DRIVE =
      new PartialDrive("rootfs", "/guest/rootfs-2.ext4", RATE_LIMITER);

  static final NetworkInterface NETWORK_INTERFACE =
      NetworkInterface.builder()
          .ifaceId("eth0")
          .hostDevName("tap0")
          .guestMac("06:00:ac:10:00:02")
          .mtu(1500)
          .rxRateLimiter(RATE_LIMITER)
          .txRateLimiter(RATE_LIMITER)
          .build();

  static final PartialNetworkInterface PARTIAL_NETWORK_INTERFACE =
      new PartialNetworkInterface("eth0", RATE_LIMITER, RATE_LIMITER);

  static final Vsock VSOCK = new Vsock(3L, "/run/vsock.sock", "vsock0");
  static final EntropyDevice ENTROPY_DEVICE = new EntropyDevice(RATE_LIMITER);

  static final Balloon BALLOON =
      Balloon.builder()
          .amountMib(64)
          .deflateOnOom(true)
          .statsPollingIntervalS(1)
          .freePageHinting(true)
          .freePageReporting(true)
          .build();

  static final BalloonUpdate BALLOON_UPDATE = new BalloonUpdate(32);

  static final BalloonStats BALLOON_STATS =
      new BalloonStats(
          1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L,
          20L);

  static final BalloonStatsUpdate BALLOON_STATS_UPDATE = new BalloonStatsUpdate(5);
  static final BalloonStartCmd BALLOON_START_CMD = new BalloonStartCmd(true);
  static final BalloonHintingStatus BALLOON_HINTING_STATUS = new BalloonHintingStatus(1L, 2L);

  static final Logger LOGGER =
      Logger.builder()
          .logPath("/run/kiln.log")
          .level(Logger.Level.DEBUG)
          .showLevel(true)
          .showLogOrigin(true)
          .module("api_server::request")
          .build();

  static final Metrics METRICS = new Metrics("/run/kiln.metrics", true, Map.of("host", "ci-1"));

  static final MmdsConfig MMDS_CONFIG =
      new MmdsConfig(List.of("eth0"), MmdsConfig.Version.V2, "169.254.169.254", false);

  static final SerialDevice SERIAL_DEVICE = new SerialDevice("/run/serial.out", TOKEN_BUCKET);

  static final InstanceActionInfo INSTANCE_ACTION_INFO =
      new InstanceActionInfo(InstanceActionInfo.ActionType.INSTANCE_START);

  static final InstanceInfo INSTANCE_INFO =
      new InstanceInfo("Kiln", "vm-1", InstanceInfo.State.NOT_STARTED, "0.1.0");

  static final Vm VM = Vm.paused();

  static final CpuConfig CPU_CONFIG = cpuConfig();

  static final Pmem PMEM = new Pmem("pmem0", "/guest/pmem.img", false, true, RATE_LIMITER);
  static final PartialPmem PARTIAL_PMEM = new PartialPmem("pmem0", RATE_LIMITER);

  static final MemoryHotplugConfig MEMORY_HOTPLUG_CONFIG = new MemoryHotplugConfig(1024L, 128L, 2L);
  static final MemoryHotplugSizeUpdate MEMORY_HOTPLUG_SIZE_UPDATE =
      new MemoryHotplugSizeUpdate(512L);
  static final MemoryHotplugStatus MEMORY_HOTPLUG_STATUS =
      new MemoryHotplugStatus(1024L, 128L, 2L, 256L, 512L);

  static final SnapshotCreateParams SNAPSHOT_CREATE_PARAMS =
      new SnapshotCreateParams(
          "/snap/vm.state", "/snap/vm.mem", SnapshotCreateParams.SnapshotType.DIFF);

  static final MemoryBackend MEMORY_BACKEND =
      new MemoryBackend(MemoryBackend.BackendType.UFFD, "/run/uffd.sock");
  static final NetworkOverride NETWORK_OVERRIDE = new NetworkOverride("eth0", "tap1");
  static final VsockOverride VSOCK_OVERRIDE = new VsockOverride("/run/vsock-2.sock");

  static final SnapshotLoadParams SNAPSHOT_LOAD_PARAMS =
      SnapshotLoadParams.builder()
          .snapshotPath("/snap/vm.state")
          .memFilePath("/snap/vm.mem")
          .memBackend(MEMORY_BACKEND)
          .enableDiffSnapshots(false)
          .trackDirtyPages(true)
          .resumeVm(true)
          .networkOverrides(List.of(NETWORK_OVERRIDE))
          .vsockOverride(VSOCK_OVERRIDE)
          .clockRealtime(true)
          .hugePages(SnapshotLoadParams.HugePages.SNAPSHOT)
          .build();

  static final FirecrackerVersion FIRECRACKER_VERSION = new FirecrackerVersion("1.12.0");

  static final FullVmConfiguration FULL_VM_CONFIGURATION =
      FullVmConfiguration.builder()
          .balloon(BALLOON)
          .drives(List.of(DRIVE))
          .bootSource(BOOT_SOURCE)
          .cpuConfig(CPU_CONFIG)
          .logger(LOGGER)
          .machineConfig(MACHINE_CONFIGURATION)
          .metrics(METRICS)
          .memoryHotplug(MEMORY_HOTPLUG_CONFIG)
          .mmdsConfig(MMDS_CONFIG)
          .networkInterfaces(List.of(NETWORK_INTERFACE))
          .pmem(List.of(PMEM))
          .vsock(VSOCK)
          .entropy(ENTROPY_DEVICE)
          .build();

  /** Every model with every field set, keyed by its swagger definition's name. */
  static final Map<String, Object> BY_DEFINITION =
      Map.ofEntries(
          Map.entry("TokenBucket", TOKEN_BUCKET),
          Map.entry("RateLimiter", RATE_LIMITER),
          Map.entry("BootSource", BOOT_SOURCE),
          Map.entry("MachineConfiguration", MACHINE_CONFIGURATION),
          Map.entry("Drive", DRIVE),
          Map.entry("PartialDrive", PARTIAL_DRIVE),
          Map.entry("NetworkInterface", NETWORK_INTERFACE),
          Map.entry("PartialNetworkInterface", PARTIAL_NETWORK_INTERFACE),
          Map.entry("Vsock", VSOCK),
          Map.entry("EntropyDevice", ENTROPY_DEVICE),
          Map.entry("Balloon", BALLOON),
          Map.entry("BalloonUpdate", BALLOON_UPDATE),
          Map.entry("BalloonStats", BALLOON_STATS),
          Map.entry("BalloonStatsUpdate", BALLOON_STATS_UPDATE),
          Map.entry("BalloonStartCmd", BALLOON_START_CMD),
          Map.entry("BalloonHintingStatus", BALLOON_HINTING_STATUS),
          Map.entry("Logger", LOGGER),
          Map.entry("Metrics", METRICS),
          Map.entry("MmdsConfig", MMDS_CONFIG),
          Map.entry("SerialDevice", SERIAL_DEVICE),
          Map.entry("InstanceActionInfo", INSTANCE_ACTION_INFO),
          Map.entry("InstanceInfo", INSTANCE_INFO),
          Map.entry("Vm", VM),
          Map.entry("CpuConfig", CPU_CONFIG),
          Map.entry("Pmem", PMEM),
          Map.entry("PartialPmem", PARTIAL_PMEM),
          Map.entry("MemoryHotplugConfig", MEMORY_HOTPLUG_CONFIG),
          Map.entry("MemoryHotplugSizeUpdate", MEMORY_HOTPLUG_SIZE_UPDATE),
          Map.entry("MemoryHotplugStatus", MEMORY_HOTPLUG_STATUS),
          Map.entry("SnapshotCreateParams", SNAPSHOT_CREATE_PARAMS),
          Map.entry("MemoryBackend", MEMORY_BACKEND),
          Map.entry("NetworkOverride", NETWORK_OVERRIDE),
          Map.entry("VsockOverride", VSOCK_OVERRIDE),
          Map.entry("SnapshotLoadParams", SNAPSHOT_LOAD_PARAMS),
          Map.entry("FirecrackerVersion", FIRECRACKER_VERSION),
          Map.entry("FullVmConfiguration", FULL_VM_CONFIGURATION));

  private static CpuConfig cpuConfig() {
    JsonNodeFactory json = JsonNodeFactory.instance;
    ObjectNode template = json.objectNode();
    template.putArray("kvm_capabilities").add("171").add("!172");
    ObjectNode leaf = template.putArray("cpuid_modifiers").addObject();
    leaf.put("leaf", "0x1").put("subleaf", "0x0").put("flags", 0);
    leaf.putArray("modifiers")
        .addObject()
        .put("register", "ecx")
        .put("bitmap", "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx0001");
    template
        .putArray("msr_modifiers")
        .addObject()
        .put("addr", "0x10a")
        .put("bitmap", "0b" + "0".repeat(63) + "1");
    template.putArray("reg_modifiers").addObject().put("addr", "0x0").put("bitmap", "0b1");
    template.putArray("vcpu_features").addObject().put("index", 0).put("bitmap", "0b1100000");
    return new CpuConfig(template);
  }
}
