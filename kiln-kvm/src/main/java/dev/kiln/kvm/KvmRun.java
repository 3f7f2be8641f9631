package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/**
 * The {@code struct kvm_run} area that KVM shares with user space for one vCPU (linux/kvm.h). The
 * exit-specific union starts at offset 32.
 */
public final class KvmRun {
  private static final long IMMEDIATE_EXIT = 1;
  private static final long EXIT_REASON = 8;
  private static final long UNION = 32;

  private final MemorySegment run;

  KvmRun(MemorySegment run) {
    this.run = run;
  }

  /** Sets {@code immediate_exit}: KVM_RUN returns {@code EINTR} at once while it is set. */
  public void setImmediateExit(boolean exit) {
    run.set(JAVA_BYTE, IMMEDIATE_EXIT, (byte) (exit ? 1 : 0));
  }

  /** Returns {@code exit_reason}. */
  public int exitReason() {
    return run.get(JAVA_INT, EXIT_REASON);
  }

  /** Returns {@code io.direction}: {@link KvmExit#KVM_EXIT_IO_IN} or OUT. */
  public int ioDirection() {
    return Byte.toUnsignedInt(run.get(JAVA_BYTE, UNION));
  }

  /** Returns {@code io.size}: bytes per access, 1, 2 or 4. */
  public int ioSize() {
    return Byte.toUnsignedInt(run.get(JAVA_BYTE, UNION + 1));
  }

  /** Returns {@code io.port}. */
  public int ioPort() {
    return Short.toUnsignedInt(run.get(JAVA_SHORT, UNION + 2));
  }

  /** Returns {@code io.count}: accesses in a string instruction, 1 otherwise. */
  public int ioCount() {
    return run.get(JAVA_INT, UNION + 4);
  }

  /**
   * Returns the data of a port access: {@code io.size * io.count} bytes at {@code io.data_offset}
   * inside the run area, checked against the area's size.
   */
  public MemorySegment ioData() {
    long offset = run.get(JAVA_LONG, UNION + 8);
    long length = (long) ioSize() * ioCount();
    return run.asSlice(offset, length);
  }

  /** Returns {@code mmio.phys_addr}. */
  public long mmioAddress() {
    return run.get(JAVA_LONG, UNION);
  }

  /** Returns the {@code mmio.len} bytes of {@code mmio.data}. */
  public MemorySegment mmioData() {
    int length = Math.min(8, run.get(JAVA_INT, UNION + 16));
    return run.asSlice(UNION + 8, length);
  }

  /** Returns {@code mmio.is_write}. */
  public boolean mmioIsWrite() {
    return run.get(JAVA_BYTE, UNION + 20) != 0;
  }

  /** Returns {@code system_event.type}. */
  public int systemEventType() {
    return run.get(JAVA_INT, UNION);
  }

  /** Returns {@code internal.suberror}. */
  public int internalSuberror() {
    return run.get(JAVA_INT, UNION);
  }

  /** Returns {@code internal.ndata}. */
  public int internalDataCount() {
    return run.get(JAVA_INT, UNION + 4);
  }

  /** Returns {@code internal.data[index]}, for index 0 to 15. */
  public long internalData(int index) {
    return run.get(JAVA_LONG, UNION + 8 + 8L * index);
  }

  /**
   * Returns the instruction bytes of an emulation failure ({@code emulation_failure.insn_bytes}),
   * or an empty array when KVM did not supply them.
   */
  public byte[] emulationFailureBytes() {
    long flags = run.get(JAVA_LONG, UNION + 8);
    if (run.get(JAVA_INT, UNION + 4) < 1
        || (flags & KvmExit.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) == 0) {
      return new byte[0];
    }
    int size = Math.min(15, Byte.toUnsignedInt(run.get(JAVA_BYTE, UNION + 16)));
    return run.asSlice(UNION + 17, size).toArray(JAVA_BYTE);
  }

  /** Returns {@code fail_entry.hardware_entry_failure_reason}. */
  public long failEntryReason() {
    return run.get(JAVA_LONG, UNION);
  }
}
