package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** The KVM system file descriptor, {@code /dev/kvm}: capability queries and VM creation. */
public final class Kvm implements AutoCloseable {
  /** The only KVM API version there has been since Linux 2.6.22. */
  public static final int KVM_API_VERSION = 12;

  /** The device path. */
  public static final String DEVICE = "/dev/kvm";

  private static final int MAX_CPUID_ENTRIES = 256;

  private final int fd;

  private Kvm(int fd) {
    this.fd = fd;
  }

  /**
   * Opens {@code /dev/kvm} and checks the API version.
   *
   * @throws SyscallException when the device cannot be opened or its API version is not 12
   */
  public static Kvm open() throws SyscallException {
    int fd = Syscalls.open(DEVICE, Syscalls.O_RDWR | Syscalls.O_CLOEXEC, 0);
    Kvm kvm = new Kvm(fd);
    int version = Syscalls.ioctl(fd, KvmIoctls.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
    if (version != KVM_API_VERSION) {
      kvm.close();
      throw new IllegalStateException(
          "KVM API version is " + version + ", Kiln needs " + KVM_API_VERSION);
    }
    return kvm;
  }

  /** Returns the value KVM gives for a {@code KVM_CAP_*} capability; 0 means unsupported. */
  public int checkExtension(int capability) throws SyscallException {
    return Syscalls.ioctl(fd, KvmIoctls.KVM_CHECK_EXTENSION, capability, "KVM_CHECK_EXTENSION");
  }

  /** Returns the size of the {@code kvm_run} area to map for each vCPU. */
  public int vcpuMmapSize() throws SyscallException {
    return Syscalls.ioctl(fd, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  }

  /** Returns the CPUID leaves that KVM can give a guest on this host. */
  public List<CpuidEntry> supportedCpuid() throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(8 + (long) CpuidEntry.SIZE * MAX_CPUID_ENTRIES, 8);
      buffer.set(JAVA_INT, 0, MAX_CPUID_ENTRIES);
      Syscalls.ioctl(fd, KvmIoctls.KVM_GET_SUPPORTED_CPUID, buffer, "KVM_GET_SUPPORTED_CPUID");
      return CpuidCodec.read(buffer);
    }
  }

  /** Creates a VM. */
  public VmFd createVm() throws SyscallException {
    int vmFd = Syscalls.ioctl(fd, KvmIoctls.KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    return new VmFd(this, vmFd);
  }

  int fd() {
    return fd;
  }

  @Override
  public void close() throws SyscallException {
    Syscalls.close(fd);
  }
}
