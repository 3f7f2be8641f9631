package dev.kiln.vmm;

import dev.kiln.kvm.CpuidEntry;
import dev.kiln.kvm.Kvm;
import dev.kiln.kvm.KvmCapability;
import dev.kiln.kvm.VcpuFd;
import dev.kiln.kvm.VmFd;
import dev.kiln.sys.EventFd;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Tap;
import dev.kiln.vmm.acpi.AcpiTables;
import dev.kiln.vmm.acpi.KernelAcpiParameter;
import dev.kiln.vmm.arch.x86_64.BootParams;
import dev.kiln.vmm.arch.x86_64.CpuSetup;
import dev.kiln.vmm.arch.x86_64.CpuidNormalizer;
import dev.kiln.vmm.arch.x86_64.E820Entry;
import dev.kiln.vmm.arch.x86_64.Gdt;
import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.arch.x86_64.MpTable;
import dev.kiln.vmm.arch.x86_64.PageTables;
import dev.kiln.vmm.arch.x86_64.PvhStartInfo;
import dev.kiln.vmm.config.BootSourceConfig;
import dev.kiln.vmm.config.DriveConfig;
import dev.kiln.vmm.config.MachineConfig;
import dev.kiln.vmm.config.NetworkInterfaceConfig;
import dev.kiln.vmm.config.VmConfig;
import dev.kiln.vmm.config.VsockConfig;
import dev.kiln.vmm.devices.Bus;
import dev.kiln.vmm.devices.EventLoop;
import dev.kiln.vmm.devices.legacy.BootTimer;
import dev.kiln.vmm.devices.legacy.I8042;
import dev.kiln.vmm.devices.legacy.Rtc;
import dev.kiln.vmm.devices.legacy.Serial;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioSlots;
import dev.kiln.vmm.devices.virtio.balloon.BalloonDevice;
import dev.kiln.vmm.devices.virtio.balloon.StatsPoller;
import dev.kiln.vmm.devices.virtio.block.BlockDevice;
import dev.kiln.vmm.devices.virtio.block.BlockIoEngine;
import dev.kiln.vmm.devices.virtio.block.FileBackend;
import dev.kiln.vmm.devices.virtio.net.NetDevice;
import dev.kiln.vmm.devices.virtio.net.TapBackend;
import dev.kiln.vmm.devices.virtio.rng.RngDevice;
import dev.kiln.vmm.devices.virtio.vsock.VsockDevice;
import dev.kiln.vmm.devices.virtio.vsock.VsockMetrics;
import dev.kiln.vmm.devices.virtio.vsock.VsockMuxer;
import dev.kiln.vmm.loader.BootProtocol;
import dev.kiln.vmm.loader.Initrd;
import dev.kiln.vmm.loader.InitrdLoader;
import dev.kiln.vmm.loader.KernelImageException;
import dev.kiln.vmm.loader.KernelLoader;
import dev.kiln.vmm.loader.LoadedKernel;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestMemoryAllocator;
import dev.kiln.vmm.pvm.InstructionCompleter;
import dev.kiln.vmm.pvm.PvmHost;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import dev.kiln.vmm.ratelimiter.RateLimiterConfig;
import dev.kiln.vmm.vcpu.Vcpu;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A configured microVM: guest memory with the kernel loaded, the KVM VM with its irqchip and timer,
 * the legacy devices and the vCPUs. {@link #create} does everything that can fail on bad input
 * before any vCPU runs; {@link #run} starts the vCPUs and returns when the VM stops.
 */
public final class MicroVm implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MicroVm.class);
  private static final int RNG_SEED_BYTES = 32;
  private static final long VCPU_JOIN_MILLIS = 2000;
  private static final long PAUSE_WAIT_MILLIS = 1000;

  private final String id;
  private final GuestMemory memory;
  private final Kvm kvm;
  private final VmFd vm;
  private final List<Vcpu> vcpus;
  private final Bus pio;
  private final Bus mmio;
  private final Serial serial;
  private final EventFd serialInterrupt;
  private final CompletableFuture<VmExit> exit;
  private final VmOptions options;
  private final EventLoop eventLoop;
  private final VirtioSlots virtio;
  private final List<BlockDevice> blockDevices;
  private final List<NetDevice> netDevices;
  private final BalloonDevice balloon;
  private final StatsPoller statsPoller;
  private final List<RateLimiter> rateLimiters;
  private final BootTimer bootTimer;
  private final I8042 i8042;
  private final EventFd keyboardInterrupt;
  private final VsockMuxer vsockMuxer;
  private final VsockDevice vsock;

  private MicroVm(Builder b) {
    this.id = b.options.id();
    this.memory = b.memory;
    this.kvm = b.kvm;
    this.vm = b.vm;
    this.vcpus = b.vcpus;
    this.pio = b.pio;
    this.mmio = b.mmio;
    this.serial = b.serial;
    this.serialInterrupt = b.serialInterrupt;
    this.exit = b.exit;
    this.options = b.options;
    this.eventLoop = b.eventLoop;
    this.virtio = b.virtio;
    this.blockDevices = List.copyOf(b.blockDevices);
    this.netDevices = List.copyOf(b.netDevices);
    this.balloon = b.balloon;
    this.statsPoller = b.statsPoller;
    this.rateLimiters = List.copyOf(b.rateLimiters);
    this.bootTimer = b.bootTimer;
    this.i8042 = b.i8042;
    this.keyboardInterrupt = b.keyboardInterrupt;
    this.vsockMuxer = b.vsockMuxer;
    this.vsock = b.vsock;
  }

  /**
   * Builds the VM described by {@code config}: loads the kernel and initrd, writes the boot tables
   * and sets up KVM, devices and vCPUs. No guest code runs yet.
   *
   * @throws VmStartException naming the input that is wrong or the host call that failed
   */
  public static MicroVm create(VmConfig config, VmOptions options) throws VmStartException {
    Builder b = new Builder(config, options);
    try {
      b.build();
      return new MicroVm(b);
    } catch (VmStartException e) {
      b.cleanUp();
      throw e;
    } catch (SyscallException e) {
      b.cleanUp();
      throw new VmStartException("VM setup failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      b.cleanUp();
      throw new VmStartException("VM setup failed: " + e, e);
    }
  }

  /** Asks the VM to stop; {@link #run} then returns this exit unless another came first. */
  public void requestExit(VmExit request) {
    exit.complete(request);
  }

  /**
   * Starts the vCPUs and serial input, waits until the VM stops, stops every vCPU and returns why
   * it stopped.
   */
  public VmExit run() throws InterruptedException {
    eventLoop.start();
    for (Vcpu vcpu : vcpus) {
      vcpu.start();
    }
    if (options.serialIn() != null) {
      SerialInput.start(options.serialIn(), serial);
    }
    LOG.info("VM {} started with {} vCPUs", id, vcpus.size());
    VmExit result;
    try {
      result = exit.get();
    } catch (ExecutionException e) {
      result = new VmExit(VmExit.Reason.VCPU_FAILURE, e.getCause().toString());
    }
    for (Vcpu vcpu : vcpus) {
      vcpu.stop();
    }
    for (Vcpu vcpu : vcpus) {
      if (!vcpu.join(VCPU_JOIN_MILLIS)) {
        LOG.warn("vCPU {} did not stop within {} ms", vcpu.id(), VCPU_JOIN_MILLIS);
      }
    }
    if (balloon != null) {
      LOG.info(
          "virtio-balloon: the guest inflated {} pages and deflated {}",
          balloon.inflatedPages(),
          balloon.deflatedPages());
    }
    if (vsock != null) {
      LOG.info("virtio-vsock: counters {}", vsock.metrics().snapshot());
    }
    for (NetDevice device : netDevices) {
      var m = device.metrics();
      LOG.info(
          "virtio-net {}: {} frames ({} bytes) to the guest, {} from it ({} bytes); {} receive and"
              + " {} transmit errors, {} TAP write failures",
          device.ifaceId(),
          m.rxPacketsCount.get(),
          m.rxBytesCount.get(),
          m.txPacketsCount.get(),
          m.txBytesCount.get(),
          m.rxFails.get(),
          m.txFails.get() + m.txMalformedFrames.get(),
          m.tapWriteFails.get());
      LOG.debug("virtio-net {} counters: {}", device.ifaceId(), m.snapshot());
    }
    if (bootTimer != null && !bootTimer.fired()) {
      LOG.info(
          "Boot timer: the guest never wrote {} to 0x{}; its init must write it to report a"
              + " boot time",
          BootTimer.MAGIC_VALUE_BOOT_COMPLETE,
          Long.toHexString(Layout.MMIO_START));
    }
    LOG.debug(
        "Ports no device claims: {} reads, {} writes; MMIO: {} reads, {} writes",
        pio.unclaimedReads(),
        pio.unclaimedWrites(),
        mmio.unclaimedReads(),
        mmio.unclaimedWrites());
    return result;
  }

  /**
   * Pauses the VM: every vCPU leaves {@code KVM_RUN} and waits, and the device thread stops
   * processing queues. Returns once all of them have stopped.
   *
   * @throws IllegalStateException when a vCPU or the device thread does not stop within a second
   */
  public synchronized void pause() {
    try {
      for (Vcpu vcpu : vcpus) {
        vcpu.pause();
      }
      for (Vcpu vcpu : vcpus) {
        if (!vcpu.awaitPaused(PAUSE_WAIT_MILLIS)) {
          throw new IllegalStateException("vCPU " + vcpu.id() + " did not pause within a second");
        }
      }
      if (!eventLoop.pause(PAUSE_WAIT_MILLIS)) {
        throw new IllegalStateException("the device thread did not pause within a second");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while pausing the VM", e);
    } catch (SyscallException e) {
      throw new IllegalStateException("pausing the device thread failed: " + e.getMessage(), e);
    }
    LOG.info("VM {} paused", id);
  }

  /** Resumes a paused VM where it stopped; does nothing to a running one. */
  public synchronized void resume() {
    eventLoop.resume();
    for (Vcpu vcpu : vcpus) {
      vcpu.resume();
    }
    LOG.info("VM {} resumed", id);
  }

  /** Presses Ctrl-Alt-Del on the guest's keyboard controller. */
  public void sendCtrlAltDel() {
    i8042.sendCtrlAltDel();
  }

  /**
   * Changes a drive of the running VM: points it at another backing file, as Kata Containers does
   * to hot-plug a disk into a placeholder drive, and replaces its rate limiter.
   *
   * @param path the new backing file, or null to keep the current one
   * @param limiter the new rate limiter, or null to keep the current one
   * @throws IOException when there is no such drive or the file cannot be opened
   */
  public synchronized void updateDrive(String driveId, String path, RateLimiterConfig limiter)
      throws IOException {
    BlockDevice device = byId(blockDevices, BlockDevice::driveId, driveId, "drive");
    if (limiter != null && device.rateLimiter() == null && limiter.limits()) {
      throw new IOException(
          "drive "
              + driveId
              + " was configured without a rate_limiter, so it has none to update; configure one"
              + " (it may allow everything) before InstanceStart");
    }
    if (path != null) {
      try {
        EventFd completions = device.replaceBackend(Path.of(path));
        if (completions != null) {
          eventLoop.register(completions.fd(), device::onEngineCompletion);
        }
      } catch (SyscallException e) {
        device.metrics().updateFails.incrementAndGet();
        throw new IOException(
            "drive " + driveId + ": cannot watch the new file's completions: " + e.getMessage(), e);
      } catch (IOException e) {
        device.metrics().updateFails.incrementAndGet();
        throw new IOException(
            "drive " + driveId + ": cannot use " + path + ": " + e.getMessage(), e);
      }
      virtio.configChanged(device);
      LOG.info("Drive {} now uses {}", driveId, path);
    }
    if (limiter != null && device.rateLimiter() != null) {
      limiter.applyTo(device.rateLimiter());
      LOG.info("Drive {} has a new rate limiter", driveId);
    }
  }

  /**
   * Replaces the rate limiters of a running network interface, as {@code PATCH
   * /network-interfaces/{id}} requests.
   *
   * @param rx the new receive limiter, or null to keep the current one
   * @param tx the new transmit limiter, or null to keep the current one
   * @throws IOException when there is no such interface, or it was built without the limiter
   */
  public synchronized void updateNetworkInterface(
      String ifaceId, RateLimiterConfig rx, RateLimiterConfig tx) throws IOException {
    NetDevice device = byId(netDevices, NetDevice::ifaceId, ifaceId, "network interface");
    RateLimiter rxLimiter = device.rxRateLimiter();
    RateLimiter txLimiter = device.txRateLimiter();
    requireLimiter(ifaceId, "rx_rate_limiter", rx, rxLimiter);
    requireLimiter(ifaceId, "tx_rate_limiter", tx, txLimiter);
    if (rx != null && rxLimiter != null) {
      rx.applyTo(rxLimiter);
    }
    if (tx != null && txLimiter != null) {
      tx.applyTo(txLimiter);
    }
    LOG.info("Network interface {} has new rate limiters", ifaceId);
  }

  /** Returns the device whose id is {@code id}, or throws naming what is missing. */
  private static <T> T byId(List<T> devices, Function<T, String> idOf, String id, String what)
      throws IOException {
    for (T device : devices) {
      if (idOf.apply(device).equals(id)) {
        return device;
      }
    }
    throw new IOException("there is no " + what + " " + id);
  }

  private static void requireLimiter(
      String ifaceId, String field, RateLimiterConfig update, RateLimiter current)
      throws IOException {
    if (update != null && update.limits() && current == null) {
      throw new IOException(
          "network interface "
              + ifaceId
              + " was configured without a "
              + field
              + ", so it has none to update; configure one before InstanceStart");
    }
  }

  /**
   * Returns the device counters by Firecracker's metrics section name: {@code block_<drive id>} for
   * each drive, {@code net_<iface id>} for each network interface, {@code balloon} and {@code
   * vsock}. Each call reads the counters anew.
   */
  public Map<String, Map<String, Long>> deviceMetrics() {
    Map<String, Map<String, Long>> sections = new LinkedHashMap<>();
    for (BlockDevice device : blockDevices) {
      sections.put("block_" + device.driveId(), device.metrics().snapshot());
    }
    if (balloon != null) {
      sections.put("balloon", balloon.metrics().snapshot());
    }
    for (NetDevice device : netDevices) {
      sections.put("net_" + device.ifaceId(), device.metrics().snapshot());
    }
    if (vsock != null) {
      sections.put("vsock", vsock.metrics().snapshot());
    }
    return sections;
  }

  /**
   * Changes how often the balloon requests statistics from the guest. Statistics must have been
   * enabled when the VM was built: the guest negotiated the statistics queue then.
   *
   * @throws IllegalStateException when the VM has no balloon or was built without statistics
   */
  public void setBalloonStatsInterval(int seconds) throws SyscallException {
    if (balloon == null) {
      throw new IllegalStateException("the VM has no balloon device");
    }
    if (statsPoller == null) {
      throw new IllegalStateException(
          "the balloon was built with statistics disabled (stats_polling_interval_s 0); they"
              + " cannot be turned on after InstanceStart");
    }
    statsPoller.setInterval(seconds);
  }

  /** Returns the balloon device, or null when the configuration has no {@code balloon} section. */
  public BalloonDevice balloon() {
    return balloon;
  }

  /** Returns the vsock device, or null when the configuration has no {@code vsock} section. */
  public VsockDevice vsock() {
    return vsock;
  }

  /** Returns the network devices in slot order, for their counters. */
  public List<NetDevice> netDevices() {
    return netDevices;
  }

  /** Returns the port-I/O bus, for counters. */
  public Bus portBus() {
    return pio;
  }

  /** Returns the MMIO bus, for counters. */
  public Bus mmioBus() {
    return mmio;
  }

  @Override
  public void close() {
    try {
      for (Vcpu vcpu : vcpus) {
        vcpu.fd().close();
      }
      serialInterrupt.close();
      keyboardInterrupt.close();
      eventLoop.close();
      virtio.close();
      if (vsockMuxer != null) {
        // Also removes the socket file at uds_path.
        vsockMuxer.close();
      }
      for (BlockDevice device : blockDevices) {
        closeQuietly(device);
      }
      for (NetDevice device : netDevices) {
        closeQuietly(device);
      }
      // A block device closes its own limiter already; closing a limiter twice does nothing.
      for (RateLimiter limiter : rateLimiters) {
        closeQuietly(limiter);
      }
      if (statsPoller != null) {
        closeQuietly(statsPoller);
      }
      vm.close();
      kvm.close();
    } catch (SyscallException e) {
      LOG.warn("Closing the VM failed: {}", e.getMessage());
    }
    // Guest memory stays mapped: a vCPU that did not stop could still touch it.
  }

  private static void closeQuietly(AutoCloseable resource) {
    try {
      resource.close();
    } catch (Exception e) {
      LOG.warn("Closing {} failed: {}", resource, e.getMessage());
    }
  }

  /** A virtio device to place: its name for logs and how to make it. */
  private record VirtioPlan(String name, Function<Runnable, VirtioDevice> factory) {}

  /**
   * A device's own descriptor and the device method that handles it, registered with the event loop
   * once the devices exist: a rate limiter's timerfd, or the eventfd of a block device's io_uring
   * completions.
   */
  private record DeviceEvent(int fd, Runnable handler) {}

  /** The steps of {@link #create}, with what they have built so far for cleaning up. */
  private static final class Builder {
    private final VmConfig config;
    private final VmOptions options;
    private final CompletableFuture<VmExit> exit = new CompletableFuture<>();
    private GuestMemory memory;
    private Kvm kvm;
    private VmFd vm;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final Bus pio = new Bus("pio");
    private final Bus mmio = new Bus("mmio");
    private Serial serial;
    private EventFd serialInterrupt;
    private boolean pvm;
    private EventLoop eventLoop;
    private final VirtioSlots virtio = new VirtioSlots();
    private final List<VirtioPlan> virtioPlan = new ArrayList<>();
    private final List<BlockDevice> blockDevices = new ArrayList<>();
    private final List<NetDevice> netDevices = new ArrayList<>();
    private final List<TapBackend> taps = new ArrayList<>();
    private BalloonDevice balloon;
    private StatsPoller statsPoller;
    private final List<RateLimiter> rateLimiters = new ArrayList<>();
    private final List<DeviceEvent> deviceEvents = new ArrayList<>();
    // The drives' files and engines, closed here if the VM fails to start; afterwards each block
    // device closes its own.
    private final List<AutoCloseable> driveResources = new ArrayList<>();
    private BootTimer bootTimer;
    private I8042 i8042;
    private EventFd keyboardInterrupt;
    private VsockMuxer vsockMuxer;
    private VsockDevice vsock;
    private String rootArguments = "";

    Builder(VmConfig config, VmOptions options) {
      this.config = config;
      this.options = options;
    }

    void build() throws VmStartException, SyscallException {
      MachineConfig machine = config.machine();
      BootSourceConfig boot = config.bootSource();
      long memoryBytes = (long) machine.memSizeMib() << 20;
      try {
        memory = GuestMemoryAllocator.allocate(memoryBytes, machine.hugePageSetting());
      } catch (SyscallException e) {
        throw new VmStartException(
            String.format(
                "cannot map %d MiB of guest memory (huge_pages %s): %s; lower mem_size_mib or"
                    + " free host memory",
                machine.memSizeMib(), machine.hugePageSetting().configName(), e.getMessage()),
            e);
      }

      LoadedKernel kernel;
      Initrd initrd = null;
      try {
        kernel = KernelLoader.load(Path.of(boot.kernelImagePath()), memory);
        if (boot.initrdPath() != null) {
          initrd = InitrdLoader.load(Path.of(boot.initrdPath()), memory, kernel);
        }
      } catch (KernelImageException e) {
        throw new VmStartException(e.getMessage(), e);
      }
      String cmdline =
          boot.bootArgs() != null ? boot.bootArgs() : BootSourceConfig.DEFAULT_KERNEL_CMDLINE;
      pvm = PvmHost.detect();
      if (pvm) {
        cmdline = PvmHost.adjustCommandLine(cmdline);
      }
      planVirtioDevices();
      if (virtioPlan.size() > VirtioSlots.MAX_DEVICES) {
        throw new VmStartException(
            String.format(
                "the configuration has %d virtio devices; at most %d fit on the interrupt"
                    + " controller, so remove some drives or network interfaces",
                virtioPlan.size(), VirtioSlots.MAX_DEVICES));
      }
      cmdline += rootArguments;
      // A guest with ACPI finds the virtio devices in the DSDT. Linux 6.1 would register a
      // command-line copy of each as well, after the ACPI one, and that copy fails to claim the
      // MMIO window with an error in the kernel log (docs/design.md, "ACPI").
      if (KernelAcpiParameter.disablesAcpi(cmdline)) {
        cmdline += VirtioSlots.kernelArguments(virtioPlan.size());
      }
      int bootArgsLength =
          (boot.bootArgs() != null ? boot.bootArgs() : BootSourceConfig.DEFAULT_KERNEL_CMDLINE)
              .length();
      int cmdlineLength = writeCmdline(cmdline, bootArgsLength, kernel);
      writeBootTables(kernel, initrd, machine.vcpuCount(), cmdlineLength, memoryBytes);
      LOG.info(
          "Loaded kernel {} ({} boot, entry {}){}",
          boot.kernelImagePath(),
          kernel.protocol(),
          "0x" + Long.toHexString(kernel.entryAddress()),
          initrd == null
              ? ""
              : String.format(
                  " and initrd %s at 0x%x (%d bytes)",
                  boot.initrdPath(), initrd.address(), initrd.size()));

      kvm = Kvm.open();
      vm = kvm.createVm();
      vm.setTssAddress(Layout.KVM_TSS_ADDRESS);
      vm.setIdentityMapAddress(Layout.KVM_IDENTITY_MAP_ADDRESS);
      vm.createIrqchip();
      vm.createPit2(VmFd.KVM_PIT_SPEAKER_DUMMY);
      int flags = machine.dirtyPageTracking() ? VmFd.KVM_MEM_LOG_DIRTY_PAGES : 0;
      for (int slot = 0; slot < memory.regions().size(); slot++) {
        var region = memory.regions().get(slot);
        vm.setUserMemoryRegion(slot, region.guestAddress(), region.host(), flags);
      }

      attachDevices();
      eventLoop = new EventLoop();
      for (VirtioPlan plan : virtioPlan) {
        virtio.attach(plan.name(), plan.factory(), vm, mmio, memory, eventLoop);
      }
      if (vsock != null) {
        vsock.start(eventLoop);
      }
      if (statsPoller != null) {
        eventLoop.register(statsPoller.fd(), statsPoller::onTimer);
        statsPoller.start();
      }
      for (DeviceEvent event : deviceEvents) {
        eventLoop.register(event.fd(), event.handler());
      }
      createVcpus(machine, kernel);
    }

    /**
     * Decides which virtio devices the VM gets, in slot order, before the command line, and creates
     * their rate limiters.
     */
    private void planVirtioDevices() throws VmStartException, SyscallException {
      // Firecracker's order: balloon, drives, network interfaces, vsock, then entropy.
      if (config.balloon() != null) {
        virtioPlan.add(
            new VirtioPlan(
                "balloon",
                needsReset -> {
                  balloon = new BalloonDevice(config.balloon(), needsReset);
                  return balloon;
                }));
        if (config.balloon().statsEnabled()) {
          // The lambda reads the field on each expiry, after the factory above has set it.
          statsPoller =
              new StatsPoller(
                  config.balloon().statsInterval(),
                  () -> {
                    if (balloon != null) {
                      balloon.requestStats();
                    }
                  });
        }
      }
      for (DriveConfig drive : DriveConfig.attachOrder(config.driveList())) {
        FileBackend backend;
        try {
          backend = FileBackend.open(Path.of(drive.pathOnHost()), drive.readOnly());
        } catch (IOException e) {
          throw new VmStartException(
              String.format(
                  "drive %s: cannot open %s: %s; check path_on_host",
                  drive.driveId(), drive.pathOnHost(), e.getMessage()),
              e);
        }
        driveResources.add(backend);
        BlockIoEngine engine;
        try {
          engine = BlockIoEngine.open(drive.ioEngineSetting(), backend);
        } catch (IOException e) {
          throw new VmStartException(
              String.format(
                  "drive %s: `io_engine` %s cannot be used: %s",
                  drive.driveId(), drive.ioEngineSetting().configName(), e.getMessage()),
              e);
        }
        // Closed before the backend: an engine waits for its requests first.
        driveResources.add(driveResources.size() - 1, engine);
        if (engine.kind() == DriveConfig.IoEngine.ASYNC) {
          LOG.info("Drive {}: io_engine Async, io_uring set up", drive.driveId());
        }
        RateLimiter limiter = createRateLimiter(drive.rateLimiter());
        virtioPlan.add(
            new VirtioPlan(
                "block " + drive.driveId(),
                needsReset -> {
                  BlockDevice device =
                      new BlockDevice(
                          drive.driveId(),
                          backend,
                          engine,
                          drive.cacheTypeSetting(),
                          limiter,
                          needsReset);
                  blockDevices.add(device);
                  if (device.completionEvent() != null) {
                    deviceEvents.add(
                        new DeviceEvent(device.completionEvent().fd(), device::onEngineCompletion));
                  }
                  if (limiter != null) {
                    deviceEvents.add(
                        new DeviceEvent(limiter.timerFd(), device::onRateLimiterTimer));
                  }
                  return device;
                }));
        if (drive.rootDevice()) {
          rootArguments = " " + drive.kernelRootArguments();
        }
      }
      for (NetworkInterfaceConfig iface : config.networkInterfaceList()) {
        planNetworkInterface(iface);
      }
      if (config.vsock() != null) {
        planVsock(config.vsock());
      }
      if (config.entropy() != null) {
        RateLimiter limiter = createRateLimiter(config.entropy().rateLimiter());
        virtioPlan.add(
            new VirtioPlan(
                "entropy",
                needsReset -> {
                  RngDevice device = new RngDevice(new SecureRandom(), limiter, needsReset);
                  if (limiter != null) {
                    deviceEvents.add(
                        new DeviceEvent(limiter.timerFd(), device::onRateLimiterTimer));
                  }
                  return device;
                }));
      }
    }

    /** Creates the vsock listening socket now, so that a bad path fails before the VM starts. */
    private void planVsock(VsockConfig vsockConfig) throws VmStartException {
      VsockMetrics metrics = new VsockMetrics();
      long cid = vsockConfig.guestCid();
      try {
        vsockMuxer = new VsockMuxer(vsockConfig.udsPath(), cid, metrics);
      } catch (SyscallException e) {
        throw new VmStartException(
            String.format(
                "vsock: cannot listen on `uds_path` %s: %s; remove the file there or choose"
                    + " another path",
                vsockConfig.udsPath(), e.getMessage()),
            e);
      }
      VsockMuxer muxer = vsockMuxer;
      virtioPlan.add(
          new VirtioPlan(
              "vsock",
              needsReset -> {
                vsock = new VsockDevice(cid, muxer, metrics, needsReset);
                return vsock;
              }));
      LOG.info("vsock: guest CID {}, listening on {}", cid, vsockConfig.udsPath());
    }

    /**
     * Opens an interface's TAP now, so that a TAP that cannot be opened stops the start with a
     * message naming it, and plans its device.
     */
    private void planNetworkInterface(NetworkInterfaceConfig iface)
        throws VmStartException, SyscallException {
      TapBackend tap;
      try {
        tap = TapBackend.open(iface.hostDevName());
      } catch (SyscallException e) {
        throw new VmStartException(
            String.format(
                "network interface %s: cannot open TAP %s: %s; %s",
                iface.ifaceId(),
                iface.hostDevName(),
                e.getMessage(),
                Tap.hint(e, iface.hostDevName())),
            e);
      } catch (IllegalArgumentException e) {
        throw new VmStartException(
            String.format(
                "network interface %s: %s; check host_dev_name", iface.ifaceId(), e.getMessage()),
            e);
      }
      taps.add(tap);
      RateLimiter rx = createRateLimiter(iface.rxRateLimiter());
      RateLimiter tx = createRateLimiter(iface.txRateLimiter());
      virtioPlan.add(
          new VirtioPlan(
              "net " + iface.ifaceId(),
              needsReset -> {
                NetDevice device =
                    new NetDevice(
                        iface.ifaceId(),
                        tap,
                        iface.guestMacBytes(),
                        iface.mtu(),
                        rx,
                        tx,
                        needsReset);
                try {
                  tap.register(eventLoop, device::onTapReadable);
                } catch (SyscallException e) {
                  throw new UncheckedIOException(
                      "cannot watch TAP " + iface.hostDevName() + ": " + e.getMessage(), e);
                }
                netDevices.add(device);
                if (rx != null) {
                  deviceEvents.add(new DeviceEvent(rx.timerFd(), device::onRxRateLimiterTimer));
                }
                if (tx != null) {
                  deviceEvents.add(new DeviceEvent(tx.timerFd(), device::onTxRateLimiterTimer));
                }
                return device;
              }));
      LOG.debug(
          "Network interface {} on TAP {}{}",
          iface.ifaceId(),
          iface.hostDevName(),
          iface.guestMac() == null ? "" : " with guest MAC " + iface.guestMac());
    }

    /** Creates the limiter a configuration describes, or returns null when it limits nothing. */
    private RateLimiter createRateLimiter(RateLimiterConfig limiterConfig) throws SyscallException {
      if (limiterConfig == null || !limiterConfig.limits()) {
        return null;
      }
      RateLimiter limiter = limiterConfig.toRateLimiter();
      rateLimiters.add(limiter);
      return limiter;
    }

    private int writeCmdline(String cmdline, int bootArgsLength, LoadedKernel kernel)
        throws VmStartException {
      byte[] bytes = cmdline.getBytes(StandardCharsets.UTF_8);
      long max = Layout.CMDLINE_MAX_SIZE - 1;
      if (kernel.setupHeader() != null && kernel.setupHeader().cmdlineSize() > 0) {
        max = Math.min(max, kernel.setupHeader().cmdlineSize());
      }
      if (bytes.length > max) {
        throw new VmStartException(
            String.format(
                "the kernel command line is %d bytes (boot_args and %d bytes Kiln adds for"
                    + " devices and the host); this kernel accepts at most %d; shorten boot_args",
                bytes.length, bytes.length - bootArgsLength, max));
      }
      memory.zero(Layout.CMDLINE_START, Layout.CMDLINE_MAX_SIZE);
      memory.write(Layout.CMDLINE_START, bytes);
      return bytes.length;
    }

    private void writeBootTables(
        LoadedKernel kernel, Initrd initrd, int vcpuCount, int cmdlineLength, long memoryBytes) {
      List<E820Entry> memoryMap = E820Entry.memoryMap(memoryBytes);
      // The MP table serves guests with acpi=off, the ACPI tables all others, as in Firecracker
      // 1.8.
      memory.write(Layout.MPTABLE_START, MpTable.build(Layout.MPTABLE_START, vcpuCount));
      AcpiTables acpi = AcpiTables.build(vcpuCount, VirtioSlots.resources(virtioPlan.size()));
      acpi.writeTo(memory);
      long initrdAddress = initrd == null ? 0 : initrd.address();
      long initrdSize = initrd == null ? 0 : initrd.size();
      if (kernel.protocol() == BootProtocol.PVH) {
        Gdt.protectedMode().write(memory);
        PvhStartInfo.write(memory, initrdAddress, initrdSize, acpi.rsdpAddress(), memoryMap);
      } else {
        Gdt.longMode().write(memory);
        PageTables.write(memory);
        byte[] seed = new byte[RNG_SEED_BYTES];
        new SecureRandom().nextBytes(seed);
        BootParams.writeRngSeed(memory, Layout.SETUP_DATA_START, seed);
        BootParams.write(
            memory,
            kernel.setupHeader() == null ? null : kernel.setupHeader().rawHeader(),
            cmdlineLength,
            initrdAddress,
            initrdSize,
            Layout.SETUP_DATA_START,
            acpi.rsdpAddress(),
            memoryMap);
      }
    }

    private void attachDevices() throws SyscallException {
      serialInterrupt = new EventFd();
      vm.registerIrqfd(serialInterrupt.fd(), Layout.SERIAL_IRQ);
      EventFd line = serialInterrupt;
      serial =
          new Serial(
              () -> {
                try {
                  line.signal();
                } catch (SyscallException e) {
                  LOG.warn("Serial interrupt failed: {}", e.getMessage());
                }
              },
              options.serialOut());
      pio.attach(0x3f8, Serial.PORT_COUNT, serial);
      keyboardInterrupt = new EventFd();
      vm.registerIrqfd(keyboardInterrupt.fd(), Layout.KEYBOARD_IRQ);
      EventFd keyboardLine = keyboardInterrupt;
      i8042 =
          new I8042(
              () ->
                  exit.complete(
                      new VmExit(VmExit.Reason.GUEST_RESET, "guest reset through the i8042")),
              () -> {
                try {
                  keyboardLine.signal();
                } catch (SyscallException e) {
                  LOG.warn("Keyboard interrupt failed: {}", e.getMessage());
                }
              });
      pio.attach(I8042.DATA_PORT, I8042.PORT_SPAN, i8042);
      pio.attach(Rtc.INDEX_PORT, Rtc.PORT_COUNT, new Rtc(Clock.systemUTC()));
      if (options.bootTimer()) {
        bootTimer = new BootTimer(options.startNanos(), options.startCpuNanos());
        mmio.attach(Layout.MMIO_START, Layout.MMIO_SLOT_SIZE, bootTimer);
      }
    }

    private void createVcpus(MachineConfig machine, LoadedKernel kernel)
        throws SyscallException, VmStartException {
      int count = machine.vcpuCount();
      int maxVcpus = kvm.checkExtension(KvmCapability.KVM_CAP_MAX_VCPUS);
      if (maxVcpus > 0 && count > maxVcpus) {
        throw new VmStartException(
            String.format(
                "vcpu_count is %d but this host's KVM allows at most %d vCPUs per VM",
                count, maxVcpus));
      }
      boolean pvm = PvmHost.detect();
      if (pvm) {
        LOG.info(
            "PVM host detected: hiding CX16, XSAVE and AVX, completing int3, clac, stac,"
                + " popcnt and fwait in user space");
      }
      boolean tscDeadline = kvm.checkExtension(KvmCapability.KVM_CAP_TSC_DEADLINE_TIMER) > 0;
      List<CpuidEntry> supported = kvm.supportedCpuid();
      CpuidNormalizer cpuid = new CpuidNormalizer(count, machine.smtEnabled(), tscDeadline, pvm);
      InstructionCompleter completer = pvm ? new InstructionCompleter() : null;
      for (int i = 0; i < count; i++) {
        VcpuFd fd = vm.createVcpu(i);
        Vcpu vcpu = new Vcpu(fd, pio, mmio, memory, exit::complete, completer);
        vcpus.add(vcpu);
        fd.setCpuid(cpuid.normalize(supported, i));
        CpuSetup.configureCommon(fd);
        if (i == 0) {
          if (kernel.protocol() == BootProtocol.PVH) {
            CpuSetup.configurePvh(fd, kernel.entryAddress());
          } else {
            CpuSetup.configureLinux64(fd, kernel.entryAddress());
          }
        }
      }
    }

    void cleanUp() {
      try {
        for (Vcpu vcpu : vcpus) {
          vcpu.fd().close();
        }
        if (serialInterrupt != null) {
          serialInterrupt.close();
        }
        if (keyboardInterrupt != null) {
          keyboardInterrupt.close();
        }
        if (eventLoop != null) {
          eventLoop.close();
        }
        virtio.close();
        for (AutoCloseable resource : driveResources) {
          closeQuietly(resource);
        }
        if (vsockMuxer != null) {
          vsockMuxer.close();
        }
        for (RateLimiter limiter : rateLimiters) {
          limiter.close();
        }
        for (TapBackend tap : taps) {
          tap.close();
        }
        if (statsPoller != null) {
          statsPoller.close();
        }
        if (vm != null) {
          vm.close();
        }
        if (kvm != null) {
          kvm.close();
        }
        if (memory != null) {
          GuestMemoryAllocator.release(memory);
        }
      } catch (SyscallException e) {
        LOG.warn("Cleaning up after a failed start failed: {}", e.getMessage());
      }
    }
  }
}
