package dev.kiln.vmm.acpi;

/**
 * Reads Linux's {@code acpi=} parameter from a kernel command line, to tell whether the guest will
 * read the DSDT. Linux 6.1 (arch/x86/kernel/acpi/boot.c, {@code parse_acpi}) handles every
 * occurrence in order: {@code acpi=off} turns ACPI off, {@code acpi=force} turns it back on, and
 * the other values leave it as it is.
 */
public final class KernelAcpiParameter {
  private KernelAcpiParameter() {}

  /** Returns true when {@code cmdline} leaves ACPI off in a Linux guest. */
  public static boolean disablesAcpi(String cmdline) {
    boolean disabled = false;
    for (String word : cmdline.trim().split("\\s+")) {
      if (word.equals("--")) {
        break; // the rest is for init, not for the kernel
      }
      if (word.equals("acpi=off")) {
        disabled = true;
      } else if (word.equals("acpi=force")) {
        disabled = false;
      }
    }
    return disabled;
  }
}
