package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.kiln.sys.Errno;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A KVM vCPU file descriptor and its {@code kvm_run} area. Register access must come from the
 * thread that runs the vCPU, or while that thread is outside {@link #run}.
 */
public final class VcpuFd implements AutoCloseable {
  private final int id;
  private final int fd;
  private final MemorySegment runArea;
  private final KvmRun run;
  // One buffer for register transfers, owned by whichever thread drives this vCPU.
  private final MemorySegment scratch = Arena.ofAuto().allocate(4096, 8);

  VcpuFd(int id, int fd, MemorySegment runArea) {
    this.id = id;
    this.fd = fd;
    this.runArea = runArea;
    this.run = new KvmRun(runArea);
  }

  /** Returns the vCPU id given at creation. */
  public int id() {
    return id;
  }

  /** Returns the shared run area. */
  public KvmRun runArea() {
    return run;
  }

  /**
   * Runs the vCPU until it exits to user space.
   *
   * @return true when the vCPU exited with a reason in {@link KvmRun#exitReason()}, false when the
   *     call was interrupted by a signal or by {@code immediate_exit} ({@code EINTR})
   * @throws SyscallException for any other failure
   */
  public boolean run() throws SyscallException {
    int result = Syscalls.ioctlOrErrno(fd, KvmIoctls.KVM_RUN, 0);
    if (result >= 0) {
      return true;
    }
    if (-result == Errno.EINTR || -result == Errno.EAGAIN) {
      return false;
    }
    throw new SyscallException("ioctl(KVM_RUN)", -result);
  }

  /** Reads the general-purpose registers. */
  public synchronized Regs getRegs() throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_GET_REGS, scratch, "KVM_GET_REGS");
    return Regs.read(scratch);
  }

  /** Writes the general-purpose registers. */
  public synchronized void setRegs(Regs regs) throws SyscallException {
    regs.write(scratch);
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_REGS, scratch, "KVM_SET_REGS");
  }

  /** Reads the special registers. */
  public synchronized Sregs getSregs() throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_GET_SREGS, scratch, "KVM_GET_SREGS");
    return Sregs.read(scratch);
  }

  /** Writes the special registers. */
  public synchronized void setSregs(Sregs sregs) throws SyscallException {
    sregs.write(scratch);
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_SREGS, scratch, "KVM_SET_SREGS");
  }

  /**
   * Sets the x87 control word and MXCSR, leaving the rest of {@code struct kvm_fpu} zero (the state
   * after FNINIT).
   */
  public synchronized void setFpu(int fcw, int mxcsr) throws SyscallException {
    MemorySegment fpu = scratch.asSlice(0, 416);
    fpu.fill((byte) 0);
    fpu.set(JAVA_SHORT, 128, (short) fcw);
    fpu.set(JAVA_INT, 408, mxcsr);
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_FPU, scratch, "KVM_SET_FPU");
  }

  /** Writes model-specific registers, in order; fails naming the first MSR that KVM rejected. */
  public synchronized void setMsrs(Map<Integer, Long> msrs) throws SyscallException {
    MemorySegment buffer = scratch.asSlice(0, 8 + 16L * msrs.size());
    buffer.fill((byte) 0);
    buffer.set(JAVA_INT, 0, msrs.size());
    int i = 0;
    Integer[] order = msrs.keySet().toArray(Integer[]::new);
    for (Integer index : order) {
      long o = 8 + 16L * i++;
      buffer.set(JAVA_INT, o, index);
      buffer.set(JAVA_LONG, o + 8, msrs.get(index));
    }
    int written = Syscalls.ioctl(fd, KvmIoctls.KVM_SET_MSRS, buffer, "KVM_SET_MSRS");
    if (written != msrs.size()) {
      throw new IllegalStateException(
          String.format(
              "KVM_SET_MSRS set %d of %d MSRs; MSR %#x was rejected",
              written, msrs.size(), order[written]));
    }
  }

  /** Reads model-specific registers; an MSR that KVM cannot read is left out of the result. */
  public synchronized Map<Integer, Long> getMsrs(List<Integer> indices) throws SyscallException {
    MemorySegment buffer = scratch.asSlice(0, 8 + 16L * indices.size());
    buffer.fill((byte) 0);
    buffer.set(JAVA_INT, 0, indices.size());
    for (int i = 0; i < indices.size(); i++) {
      buffer.set(JAVA_INT, 8 + 16L * i, indices.get(i));
    }
    int read = Syscalls.ioctl(fd, KvmIoctls.KVM_GET_MSRS, buffer, "KVM_GET_MSRS");
    Map<Integer, Long> values = new LinkedHashMap<>();
    for (int i = 0; i < read; i++) {
      values.put(indices.get(i), buffer.get(JAVA_LONG, 8 + 16L * i + 8));
    }
    return values;
  }

  /** Reads the local APIC's register page ({@code struct kvm_lapic_state}, 1024 bytes). */
  public synchronized byte[] getLapic() throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_GET_LAPIC, scratch, "KVM_GET_LAPIC");
    return scratch.asSlice(0, 1024).toArray(JAVA_BYTE);
  }

  /** Writes the local APIC's register page. */
  public synchronized void setLapic(byte[] registers) throws SyscallException {
    MemorySegment.copy(registers, 0, scratch, JAVA_BYTE, 0, 1024);
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_LAPIC, scratch, "KVM_SET_LAPIC");
  }

  /** Sets the CPUID leaves the guest sees on this vCPU. */
  public void setCpuid(List<CpuidEntry> entries) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(CpuidCodec.size(entries.size()), 8);
      CpuidCodec.write(entries, buffer);
      Syscalls.ioctl(fd, KvmIoctls.KVM_SET_CPUID2, buffer, "KVM_SET_CPUID2");
    }
  }

  /**
   * Queues an exception for delivery at the next entry, through {@code KVM_SET_VCPU_EVENTS} ({@code
   * struct kvm_vcpu_events}: exception.injected at 0, nr at 1, has_error_code at 2).
   */
  public synchronized void injectException(int vector) throws SyscallException {
    Syscalls.ioctl(fd, KvmIoctls.KVM_GET_VCPU_EVENTS, scratch, "KVM_GET_VCPU_EVENTS");
    scratch.set(JAVA_BYTE, 0, (byte) 1);
    scratch.set(JAVA_BYTE, 1, (byte) vector);
    scratch.set(JAVA_BYTE, 2, (byte) 0);
    scratch.set(JAVA_BYTE, 3, (byte) 0);
    scratch.set(JAVA_INT, 4, 0);
    // flags = 0: leave NMI, SIPI and SMM state as they are.
    scratch.set(JAVA_INT, 20, 0);
    Syscalls.ioctl(fd, KvmIoctls.KVM_SET_VCPU_EVENTS, scratch, "KVM_SET_VCPU_EVENTS");
  }

  /**
   * Translates a guest-virtual address through the vCPU's current page tables ({@code
   * KVM_TRANSLATE}); returns -1 when the address is not mapped.
   */
  public synchronized long translate(long virtualAddress) throws SyscallException {
    MemorySegment translation = scratch.asSlice(0, 24);
    translation.fill((byte) 0);
    translation.set(JAVA_LONG, 0, virtualAddress);
    Syscalls.ioctl(fd, KvmIoctls.KVM_TRANSLATE, translation, "KVM_TRANSLATE");
    return translation.get(JAVA_BYTE, 16) != 0 ? translation.get(JAVA_LONG, 8) : -1;
  }

  @Override
  public void close() throws SyscallException {
    Syscalls.munmap(runArea);
    Syscalls.close(fd);
  }
}
