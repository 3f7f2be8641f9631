package dev.kiln.vmm.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds the Fixed ACPI Description Table, revision 6.5 (ACPI 6.5, 5.2.9), for a hardware-reduced
 * machine: no SCI, no PM1 or GPE register blocks, no FACS. It points at the DSDT and tells the
 * guest which legacy PC hardware exists.
 */
public final class Fadt {
  /** Size of a revision 6 FADT. */
  public static final int SIZE = 276;

  static final int REVISION = 6;
  static final int MINOR_REVISION = 5;

  // Field offsets, ACPI 6.5 table 5.9.
  static final int IAPC_BOOT_ARCH_OFFSET = 109;
  static final int FLAGS_OFFSET = 112;
  static final int MINOR_REVISION_OFFSET = 131;
  static final int X_DSDT_OFFSET = 140;
  static final int HYPERVISOR_VENDOR_OFFSET = 268;

  // IA-PC boot architecture flags, ACPI 6.5 table 5.10.
  /** The machine has an 8042 keyboard controller at ports 0x60 and 0x64. */
  public static final int IAPC_8042 = 1 << 1;

  /** The OS must not probe for VGA hardware. */
  public static final int IAPC_VGA_NOT_PRESENT = 1 << 2;

  /** The OS must not enable message signaled interrupts. */
  public static final int IAPC_MSI_NOT_SUPPORTED = 1 << 3;

  /** The OS must not enable PCIe active state power management. */
  public static final int IAPC_PCIE_ASPM_CONTROLS = 1 << 4;

  /** There is no CMOS real-time clock at ports 0x70 and 0x71. */
  public static final int IAPC_CMOS_RTC_NOT_PRESENT = 1 << 5;

  // Fixed feature flags, ACPI 6.5 table 5.11.
  /** There is no fixed-feature power button. */
  public static final int FLAG_PWR_BUTTON = 1 << 4;

  /** There is no fixed-feature sleep button. */
  public static final int FLAG_SLP_BUTTON = 1 << 5;

  /** The hardware-reduced ACPI interface: no fixed hardware, events through GPIO or interrupts. */
  public static final int FLAG_HW_REDUCED_ACPI = 1 << 20;

  /**
   * Kiln's boot architecture flags. The i8042 keyboard controller exists (Kiln uses it for resets
   * and Linux's i8042 driver probes when this flag or a PNP0303 device says so). The CMOS RTC at
   * 0x70 exists, so its "not present" flag stays clear. VGA, MSI and ASPM do not exist.
   */
  public static final int KILN_IAPC_BOOT_ARCH =
      IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED | IAPC_PCIE_ASPM_CONTROLS;

  /** Kiln's fixed feature flags: hardware-reduced, with neither fixed button. */
  public static final int KILN_FLAGS = FLAG_HW_REDUCED_ACPI | FLAG_PWR_BUTTON | FLAG_SLP_BUTTON;

  /** Hypervisor Vendor Identity (ACPI 6.5, 5.2.9): tells the guest which VMM made the tables. */
  static final String HYPERVISOR_VENDOR = "KILNVMM";

  private Fadt() {}

  /** Returns a FADT that points at the DSDT at {@code dsdtAddress} through X_DSDT. */
  public static byte[] build(long dsdtAddress) {
    ByteBuffer body =
        ByteBuffer.allocate(SIZE - SystemDescriptionTable.HEADER_SIZE)
            .order(ByteOrder.LITTLE_ENDIAN);
    int header = SystemDescriptionTable.HEADER_SIZE;
    // Fields not set here stay 0: FIRMWARE_CTRL and X_FIRMWARE_CTRL (no FACS), SCI_INT, the PM1,
    // PM2, PM timer and GPE blocks, RESET_REG and the sleep registers, none of which a
    // hardware-reduced machine has. The 32-bit DSDT field stays 0 because X_DSDT is set.
    body.putShort(IAPC_BOOT_ARCH_OFFSET - header, (short) KILN_IAPC_BOOT_ARCH);
    body.putInt(FLAGS_OFFSET - header, KILN_FLAGS);
    body.put(MINOR_REVISION_OFFSET - header, (byte) MINOR_REVISION);
    body.putLong(X_DSDT_OFFSET - header, dsdtAddress);
    body.put(
        HYPERVISOR_VENDOR_OFFSET - header, SystemDescriptionTable.padded(HYPERVISOR_VENDOR, 8));
    return SystemDescriptionTable.build("FACP", REVISION, "KILNFADT", body.array());
  }
}
