package dev.kiln.vmm.vcpu;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kiln.kvm.KvmExit;
import dev.kiln.kvm.KvmRun;
import dev.kiln.kvm.Regs;
import dev.kiln.kvm.Sregs;
import dev.kiln.kvm.VcpuFd;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.sys.ThreadKick;
import dev.kiln.vmm.VmExit;
import dev.kiln.vmm.devices.Bus;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.pvm.InstructionCompleter;
import dev.kiln.vmm.pvm.UnsupportedInstructionException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One vCPU and the platform thread that runs it: {@code KVM_RUN} in a loop, port and MMIO exits
 * dispatched to the buses, and stop events handed to the {@link ExitListener}. A guest can make
 * this loop fail only by stopping its own VM; device errors caused by guest accesses are logged and
 * counted.
 */
public final class Vcpu {
  private static final Logger LOG = LoggerFactory.getLogger(Vcpu.class);
  private static final int LOGGED_DEVICE_ERRORS = 10;

  private final VcpuFd fd;
  private final Bus pio;
  private final Bus mmio;
  private final GuestMemory memory;
  private final ExitListener exits;
  private final InstructionCompleter completer;
  private final AtomicLong deviceErrors = new AtomicLong();
  private final AtomicLong completedInstructions = new AtomicLong();
  private final ConcurrentHashMap<String, Boolean> completedKinds = new ConcurrentHashMap<>();

  private volatile boolean stopping;
  private volatile boolean pauseRequested;
  private boolean paused; // guarded by pauseLock
  private final Object pauseLock = new Object();
  private volatile long pthread;
  private Thread thread;

  /**
   * @param completer completes instructions the host cannot emulate (PVM hosts), or null to treat
   *     every emulation failure as fatal
   */
  public Vcpu(
      VcpuFd fd,
      Bus pio,
      Bus mmio,
      GuestMemory memory,
      ExitListener exits,
      InstructionCompleter completer) {
    this.fd = fd;
    this.pio = pio;
    this.mmio = mmio;
    this.memory = memory;
    this.exits = exits;
    this.completer = completer;
  }

  /** Returns the vCPU id. */
  public int id() {
    return fd.id();
  }

  /** Returns the KVM handle, for setup before {@link #start}. */
  public VcpuFd fd() {
    return fd;
  }

  /** Starts the vCPU thread. */
  public void start() {
    thread = Thread.ofPlatform().name("kiln_vcpu" + fd.id()).start(this::runLoop);
  }

  /**
   * Makes the vCPU leave {@code KVM_RUN} and its thread end: sets {@code immediate_exit}, then
   * interrupts the thread with a signal in case it is inside {@code KVM_RUN} already.
   */
  public void stop() {
    stopping = true;
    synchronized (pauseLock) {
      pauseLock.notifyAll();
    }
    kick();
  }

  /**
   * Asks the vCPU to leave {@code KVM_RUN} and wait; {@link #awaitPaused} tells when it does. The
   * vCPU keeps its state in KVM and continues where it stopped after {@link #resume}.
   */
  public void pause() {
    pauseRequested = true;
    kick();
  }

  /**
   * Waits up to {@code millis} until the vCPU has left {@code KVM_RUN} after {@link #pause}, or has
   * stopped; returns true when it has.
   */
  public boolean awaitPaused(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    synchronized (pauseLock) {
      while (!paused && thread != null && thread.isAlive()) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          return false;
        }
        pauseLock.wait(left);
      }
    }
    return true;
  }

  /** Lets a paused vCPU run again. */
  public void resume() {
    synchronized (pauseLock) {
      pauseRequested = false;
      pauseLock.notifyAll();
    }
  }

  private void kick() {
    fd.runArea().setImmediateExit(true);
    long target = pthread;
    if (target != 0) {
      try {
        ThreadKick.kick(target);
      } catch (SyscallException e) {
        LOG.warn("Could not interrupt vCPU {}: {}", fd.id(), e.getMessage());
      }
    }
  }

  /** Waits up to {@code millis} for the thread to end; returns true when it has. */
  public boolean join(long millis) throws InterruptedException {
    return thread == null || thread.join(java.time.Duration.ofMillis(millis));
  }

  /** Returns how many instructions this vCPU completed for a PVM host. */
  public long completedInstructions() {
    return completedInstructions.get();
  }

  private void runLoop() {
    pthread = Syscalls.pthreadSelf();
    try {
      ThreadKick.install();
      while (!stopping) {
        if (pauseRequested && !waitWhilePaused()) {
          break;
        }
        if (!fd.run()) {
          continue; // interrupted; the loop condition decides
        }
        if (!handleExit(fd.runArea())) {
          break;
        }
      }
    } catch (SyscallException | RuntimeException e) {
      fail("vCPU " + fd.id() + " failed: " + e.getMessage(), e);
    } catch (Error e) {
      // Even an out-of-memory error must stop the VM rather than leave it without this vCPU.
      exits.requestExit(
          new VmExit(VmExit.Reason.VCPU_FAILURE, "vCPU " + fd.id() + " failed: " + e));
      throw e;
    }
  }

  /**
   * Waits on this vCPU's thread until {@link #resume} or {@link #stop}; returns false when the vCPU
   * must stop.
   */
  private boolean waitWhilePaused() {
    synchronized (pauseLock) {
      paused = true;
      pauseLock.notifyAll();
      try {
        while (pauseRequested && !stopping) {
          pauseLock.wait();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } finally {
        paused = false;
      }
      if (stopping) {
        return false;
      }
      // Cleared here, on the vCPU's own thread, so a stop() that sets it again is never lost.
      fd.runArea().setImmediateExit(false);
      return !stopping;
    }
  }

  /** Handles one exit; returns false when this vCPU must stop. */
  private boolean handleExit(KvmRun run) throws SyscallException {
    int reason = run.exitReason();
    switch (reason) {
      case KvmExit.KVM_EXIT_IO -> {
        handlePortIo(run);
        return true;
      }
      case KvmExit.KVM_EXIT_MMIO -> {
        handleMmio(run);
        return true;
      }
      case KvmExit.KVM_EXIT_INTR -> {
        return true;
      }
      case KvmExit.KVM_EXIT_HLT -> {
        exits.requestExit(new VmExit(VmExit.Reason.GUEST_POWER_OFF, "vCPU " + fd.id() + " halted"));
        return false;
      }
      case KvmExit.KVM_EXIT_SHUTDOWN -> {
        exits.requestExit(
            new VmExit(VmExit.Reason.GUEST_RESET, "vCPU " + fd.id() + " triple-faulted"));
        return false;
      }
      case KvmExit.KVM_EXIT_SYSTEM_EVENT -> {
        handleSystemEvent(run.systemEventType());
        return false;
      }
      case KvmExit.KVM_EXIT_INTERNAL_ERROR -> {
        return handleInternalError(run);
      }
      case KvmExit.KVM_EXIT_FAIL_ENTRY -> {
        fail(
            String.format(
                "vCPU %d: KVM could not enter the guest (hardware entry failure reason %#x)",
                fd.id(), run.failEntryReason()),
            null);
        return false;
      }
      default -> {
        fail("vCPU " + fd.id() + ": unexpected " + KvmExit.name(reason), null);
        return false;
      }
    }
  }

  private void handlePortIo(KvmRun run) {
    int size = run.ioSize();
    int port = run.ioPort();
    MemorySegment data = run.ioData();
    boolean in = run.ioDirection() == KvmExit.KVM_EXIT_IO_IN;
    for (int i = 0; i < run.ioCount(); i++) {
      MemorySegment item = data.asSlice((long) i * size, size);
      try {
        if (in) {
          store(item, pio.read(port, size));
        } else {
          pio.write(port, size, load(item));
        }
      } catch (RuntimeException e) {
        deviceError("port " + Integer.toHexString(port), e);
        if (in) {
          store(item, -1L);
        }
      }
    }
  }

  private void handleMmio(KvmRun run) {
    long address = run.mmioAddress();
    MemorySegment data = run.mmioData();
    int size = (int) data.byteSize();
    try {
      if (run.mmioIsWrite()) {
        mmio.write(address, size, load(data));
      } else {
        store(data, mmio.read(address, size));
      }
    } catch (RuntimeException e) {
      deviceError("MMIO address " + Long.toHexString(address), e);
      if (!run.mmioIsWrite()) {
        store(data, -1L);
      }
    }
  }

  private void handleSystemEvent(int type) {
    String who = "vCPU " + fd.id();
    switch (type) {
      case KvmExit.KVM_SYSTEM_EVENT_SHUTDOWN ->
          exits.requestExit(new VmExit(VmExit.Reason.GUEST_POWER_OFF, who + ": guest shutdown"));
      case KvmExit.KVM_SYSTEM_EVENT_RESET ->
          exits.requestExit(new VmExit(VmExit.Reason.GUEST_RESET, who + ": guest reset"));
      case KvmExit.KVM_SYSTEM_EVENT_CRASH ->
          exits.requestExit(new VmExit(VmExit.Reason.GUEST_CRASH, who + ": guest crashed"));
      default -> fail(who + ": unknown KVM system event type " + type, null);
    }
  }

  private boolean handleInternalError(KvmRun run) throws SyscallException {
    int suberror = run.internalSuberror();
    byte[] bytes = run.emulationFailureBytes();
    Regs regs = fd.getRegs();
    if (suberror == KvmExit.KVM_INTERNAL_ERROR_EMULATION && completer != null) {
      Sregs sregs = fd.getSregs();
      try {
        InstructionCompleter.Completion done =
            completer.complete(bytes, regs, new KvmCpuView(fd, sregs, memory));
        fd.setRegs(regs);
        if (done.exceptionVector() >= 0) {
          fd.injectException(done.exceptionVector());
        }
        completedInstructions.incrementAndGet();
        if (completedKinds.putIfAbsent(done.name(), Boolean.TRUE) == null) {
          LOG.info(
              "vCPU {}: the host could not emulate {}; Kiln completes it from now on",
              fd.id(),
              done.name());
        }
        return true;
      } catch (UnsupportedInstructionException e) {
        fail(
            String.format(
                "vCPU %d: emulation failure at RIP %#x that Kiln cannot complete: %s",
                fd.id(), regs.rip, e.getMessage()),
            null);
        return false;
      }
    }
    StringBuilder data = new StringBuilder();
    for (int i = 0; i < Math.min(run.internalDataCount(), 16); i++) {
      data.append(String.format(" %#x", run.internalData(i)));
    }
    fail(
        String.format(
            "vCPU %d: KVM internal error, suberror %d, at RIP %#x, instruction bytes [%s], data"
                + " [%s]",
            fd.id(), suberror, regs.rip, InstructionCompleter.hex(bytes), data.toString().trim()),
        null);
    return false;
  }

  private void deviceError(String where, RuntimeException e) {
    long count = deviceErrors.incrementAndGet();
    if (count <= LOGGED_DEVICE_ERRORS) {
      LOG.warn(
          "vCPU {}: device at {} failed on a guest access ({} so far): {}",
          fd.id(),
          where,
          count,
          e.toString());
    }
  }

  private void fail(String message, Throwable cause) {
    StringBuilder state = new StringBuilder();
    try {
      state.append(fd.getRegs()).append(' ').append(fd.getSregs());
    } catch (SyscallException | RuntimeException e) {
      state.append("registers unavailable: ").append(e.getMessage());
    }
    if (cause != null) {
      LOG.error("{}; {}", message, state, cause);
    } else {
      LOG.error("{}; {}", message, state);
    }
    exits.requestExit(new VmExit(VmExit.Reason.VCPU_FAILURE, message));
  }

  /** Returns the little-endian value of up to 8 bytes. */
  static long load(MemorySegment bytes) {
    long value = 0;
    for (int i = (int) bytes.byteSize() - 1; i >= 0; i--) {
      value = (value << 8) | (bytes.get(JAVA_BYTE, i) & 0xff);
    }
    return value;
  }

  /** Stores the low bytes of a value, little-endian, filling the segment. */
  static void store(MemorySegment bytes, long value) {
    for (int i = 0; i < bytes.byteSize(); i++) {
      bytes.set(JAVA_BYTE, i, (byte) (value >>> (8 * i)));
    }
  }
}
