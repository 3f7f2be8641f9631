package dev.kiln.vmm.vcpu;

import dev.kiln.vmm.VmExit;

/** Receives the request to stop the VM; the first request wins. */
@FunctionalInterface
public interface ExitListener {
  /** Asks the VM to stop for the given reason. Safe to call from any thread, more than once. */
  void requestExit(VmExit exit);
}
