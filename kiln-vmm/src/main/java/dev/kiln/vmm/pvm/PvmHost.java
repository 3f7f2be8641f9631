package dev.kiln.vmm.pvm;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Detects a PVM host: one whose {@code /dev/kvm} is served by the {@code kvm_pvm} module
 * ("pagetable-based virtual machine") instead of VT-x or AMD-V. On such hosts the guest kernel's
 * instructions are emulated by the host, which cannot run every instruction; Kiln then hides some
 * CPUID features and completes a few instructions itself.
 */
public final class PvmHost {
  /** Present when the kvm_pvm module is loaded. */
  static final Path MODULE = Path.of("/sys/module/kvm_pvm");

  /** System property that overrides detection: {@code true} or {@code false}. */
  public static final String OVERRIDE_PROPERTY = "kiln.pvm";

  /**
   * The Linux parameter that turns XSAVE off. The PVM hosts Kiln was tested on report XSAVE and AVX
   * to the guest whatever the VMM sets in CPUID leaf 1, but their emulator cannot execute XRSTOR,
   * so Linux gets this parameter and uses FXSAVE instead.
   */
  public static final String NO_XSAVE_PARAMETER = "noxsave";

  private PvmHost() {}

  /**
   * Returns the command line with the parameters a Linux guest needs on a PVM host added, unless
   * already present.
   */
  public static String adjustCommandLine(String cmdline) {
    for (String word : cmdline.split(" ")) {
      if (word.equals(NO_XSAVE_PARAMETER)) {
        return cmdline;
      }
    }
    return cmdline.isEmpty() ? NO_XSAVE_PARAMETER : cmdline + " " + NO_XSAVE_PARAMETER;
  }

  /** Returns true when this host's KVM is PVM, or when the override property is {@code true}. */
  public static boolean detect() {
    String forced = System.getProperty(OVERRIDE_PROPERTY);
    if (forced != null) {
      return Boolean.parseBoolean(forced);
    }
    return Files.isDirectory(MODULE);
  }
}
