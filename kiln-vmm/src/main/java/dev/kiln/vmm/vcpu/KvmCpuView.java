package dev.kiln.vmm.vcpu;

import dev.kiln.kvm.Sregs;
import dev.kiln.kvm.VcpuFd;
import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestMemoryException;
import dev.kiln.vmm.pvm.GuestCpuView;
import dev.kiln.vmm.pvm.UnsupportedInstructionException;

/** The instruction completer's view of a stopped KVM vCPU. */
final class KvmCpuView implements GuestCpuView {
  private static final long PAGE_SIZE = 4096;
  private static final long EFER_LMA = 1 << 10;

  private final VcpuFd fd;
  private final Sregs sregs;
  private final GuestMemory memory;

  KvmCpuView(VcpuFd fd, Sregs sregs, GuestMemory memory) {
    this.fd = fd;
    this.sregs = sregs;
    this.memory = memory;
  }

  @Override
  public boolean longMode() {
    return (sregs.efer & EFER_LMA) != 0 && sregs.cs.l != 0;
  }

  @Override
  public boolean defaultSize32() {
    return !longMode() && sregs.cs.db != 0;
  }

  @Override
  public long segmentBase(int prefix) {
    return switch (prefix) {
      case 0x64 -> sregs.fs.base;
      case 0x65 -> sregs.gs.base;
      default -> 0;
    };
  }

  @Override
  public byte[] readVirtual(long address, int length) throws UnsupportedInstructionException {
    byte[] out = new byte[length];
    int done = 0;
    while (done < length) {
      long virtual = address + done;
      int chunk = (int) Math.min(length - done, PAGE_SIZE - (virtual & (PAGE_SIZE - 1)));
      long physical;
      try {
        physical = fd.translate(virtual);
      } catch (SyscallException e) {
        throw new UnsupportedInstructionException(
            "cannot translate operand address "
                + Long.toHexString(virtual)
                + ": "
                + e.getMessage());
      }
      if (physical < 0) {
        throw new UnsupportedInstructionException(
            "operand address " + Long.toHexString(virtual) + " is not mapped");
      }
      try {
        System.arraycopy(memory.read(physical, chunk), 0, out, done, chunk);
      } catch (GuestMemoryException e) {
        throw new UnsupportedInstructionException("operand " + e.getMessage());
      }
      done += chunk;
    }
    return out;
  }
}
