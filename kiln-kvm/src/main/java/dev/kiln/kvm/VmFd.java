package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A KVM virtual machine file descriptor: memory slots, the interrupt controllers, vCPUs. */
public final class VmFd implements AutoCloseable {
  /** {@code kvm_userspace_memory_region.flags}: keep a dirty-page bitmap for the slot. */
  public static final int KVM_MEM_LOG_DIRTY_PAGES = 1;

  /** {@code kvm_pit_config.flags}: the PC speaker port is a dummy. */
  public static final int KVM_PIT_SPEAKER_DUMMY = 1;

  /**
   * {@code kvm_ioeventfd.flags}: the event matches only when the written value is {@code
   * datamatch}.
   */
  public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1;

  /** {@code kvm_ioeventfd.flags}: the address is a port, not MMIO. */
  public static final int KVM_IOEVENTFD_FLAG_PIO = 2;

  private final Kvm kvm;
  private final int fd;

  VmFd(Kvm kvm, int fd) {
    this.kvm = kvm;
    this.fd = fd;
  }

  /** Returns the system handle this VM was created from. */
  public Kvm kvm() {
    return kvm;
  }

  /** Returns the value KVM gives for a capability on this VM; 0 means unsupported. */
  public int checkExtension(int capability) throws SyscallException {
    return Syscalls.ioctl(fd, KvmIoctls.KVM_CHECK_EXTENSION, capability, "KVM_CHECK_EXTENSION");
  }

  /**
   * Maps host memory into the guest's physical address space.
   *
   * @param slot the memory slot number
   * @param guestAddress the guest-physical start address
   * @param host the host memory; its size is the slot's size
   * @param flags {@link #KVM_MEM_LOG_DIRTY_PAGES} or 0
   */
  public void setUserMemoryRegion(int slot, long guestAddress, MemorySegment host, int flags)
      throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment region = arena.allocate(32, 8);
      region.set(JAVA_INT, 0, slot);
      region.set(JAVA_INT, 4, flags);
      region.set(JAVA_LONG, 8, guestAddress);
      region.set(JAVA_LONG, 16, host.byteSize());
      region.set(JAVA_LONG, 24, host.address());
      Syscalls.ioctl(
          fd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, region, "KVM_SET_USER_MEMORY_REGION");
    }
  }

  /** Places the three pages Intel VT-x needs for the real-mode TSS at a guest-physical address. */
  public void setTssAddress(long address) throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_TSS_ADDR, address, "KVM_SET_TSS_ADDR");
  }

  /** Places the page VT-x needs for the real-mode identity map at a guest-physical address. */
  public void setIdentityMapAddress(long address) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(JAVA_LONG);
      value.set(JAVA_LONG, 0, address);
      Syscalls.ioctl(fd, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, value, "KVM_SET_IDENTITY_MAP_ADDR");
    }
  }

  /** Creates the in-kernel PIC pair, IOAPIC and per-vCPU local APICs. */
  public void createIrqchip() throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
  }

  /** Creates the in-kernel i8254 timer. */
  public void createPit2(int flags) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment config = arena.allocate(64, 8);
      config.set(JAVA_INT, 0, flags);
      Syscalls.ioctl(fd, KvmIoctls.KVM_CREATE_PIT2, config, "KVM_CREATE_PIT2");
    }
  }

  /** Routes an eventfd to a guest interrupt line (GSI): each signal raises the interrupt. */
  public void registerIrqfd(int eventFd, int gsi) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment irqfd = arena.allocate(32, 8);
      irqfd.set(JAVA_INT, 0, eventFd);
      irqfd.set(JAVA_INT, 4, gsi);
      Syscalls.ioctl(fd, KvmIoctls.KVM_IRQFD, irqfd, "KVM_IRQFD");
    }
  }

  /**
   * Signals an eventfd whenever the guest writes {@code length} bytes at an address, without an
   * exit to user space.
   *
   * @param datamatch the value to match, or null to match every write
   * @param pio true for a port address, false for MMIO
   */
  public void registerIoeventfd(int eventFd, long address, int length, Long datamatch, boolean pio)
      throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment request = arena.allocate(64, 8);
      int flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0);
      if (datamatch != null) {
        flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
        request.set(JAVA_LONG, 0, datamatch);
      }
      request.set(JAVA_LONG, 8, address);
      request.set(JAVA_INT, 16, length);
      request.set(JAVA_INT, 20, eventFd);
      request.set(JAVA_INT, 24, flags);
      Syscalls.ioctl(fd, KvmIoctls.KVM_IOEVENTFD, request, "KVM_IOEVENTFD");
    }
  }

  /** Sets the level of an interrupt line on the in-kernel irqchip. */
  public void setIrqLine(int irq, boolean high) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment level = arena.allocate(8, 4);
      level.set(JAVA_INT, 0, irq);
      level.set(JAVA_INT, 4, high ? 1 : 0);
      Syscalls.ioctl(fd, KvmIoctls.KVM_IRQ_LINE, level, "KVM_IRQ_LINE");
    }
  }

  /**
   * Creates a vCPU and maps its {@code kvm_run} area.
   *
   * @param id the vCPU id, which is also its initial local APIC id
   */
  public VcpuFd createVcpu(int id) throws SyscallException {
    int vcpuFd = Syscalls.ioctl(fd, KvmIoctls.KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU");
    int size = kvm.vcpuMmapSize();
    MemorySegment run =
        Syscalls.mmap(
            size, Syscalls.PROT_READ | Syscalls.PROT_WRITE, Syscalls.MAP_SHARED, vcpuFd, 0);
    return new VcpuFd(id, vcpuFd, run);
  }

  @Override
  public void close() throws SyscallException {
    Syscalls.close(fd);
  }
}
