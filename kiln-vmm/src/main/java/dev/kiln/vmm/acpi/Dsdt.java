package dev.kiln.vmm.acpi;

import dev.kiln.vmm.acpi.ResourceTemplate.Polarity;
import dev.kiln.vmm.acpi.ResourceTemplate.Trigger;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the Differentiated System Description Table (ACPI 6.5, 5.2.11.1): an AML definition block
 * that declares, under {@code \_SB}, the devices a guest cannot discover by itself:
 *
 * <ul>
 *   <li>COM1, a 16550 UART ({@code PNP0501}) at ports 0x3f8 to 0x3ff, IRQ 4;
 *   <li>the i8042 keyboard controller ({@code PNP0303}) at ports 0x60 and 0x64, IRQ 1;
 *   <li>each virtio-mmio device as {@code Vnnn}, {@code _HID "LNRO0005"} (the ID Linux's
 *       virtio_mmio driver matches), with its register window and interrupt.
 * </ul>
 *
 * Every interrupt is edge-triggered and active-high, as the IOAPIC pins are programmed for ISA
 * devices and as KVM's irqfd delivers them.
 */
public final class Dsdt {
  /** DSDT revision 2: integers in the definition block are 64 bits wide (ACPI 6.5, 5.2.11.1). */
  static final int REVISION = 2;

  /** COM1's first port. */
  public static final int COM1_PORT = 0x3f8;

  /** The number of COM1's ports. */
  public static final int COM1_PORT_COUNT = 8;

  /** COM1's ISA IRQ. */
  public static final int COM1_IRQ = 4;

  /** The i8042's data port. */
  public static final int I8042_DATA_PORT = 0x60;

  /** The i8042's command and status port. */
  public static final int I8042_COMMAND_PORT = 0x64;

  /** The i8042's keyboard IRQ. */
  public static final int I8042_KEYBOARD_IRQ = 1;

  /** The {@code _HID} Linux's virtio_mmio driver matches (drivers/virtio/virtio_mmio.c). */
  public static final String VIRTIO_MMIO_HID = "LNRO0005";

  /** The largest number of virtio devices: their names run from V000 to V999. */
  public static final int MAX_VIRTIO_DEVICES = 1000;

  /** {@code _STA} for a device that is present, enabled, shown in the UI and working. */
  static final int STA_PRESENT_AND_WORKING = 0x0f;

  private Dsdt() {}

  /**
   * Returns the DSDT for the legacy devices and {@code virtioDevices}, in slot order. Device {@code
   * i} gets the name {@code V}<i>nnn</i> and {@code _UID} {@code i}, so Linux names it {@code
   * LNRO0005:}<i>nn</i> in the same order.
   *
   * @throws IllegalArgumentException when there are more than {@link #MAX_VIRTIO_DEVICES} devices
   */
  public static byte[] build(List<VirtioMmioResource> virtioDevices) {
    if (virtioDevices.size() > MAX_VIRTIO_DEVICES) {
      throw new IllegalArgumentException(
          "invalid virtio device count "
              + virtioDevices.size()
              + ": the DSDT names at most "
              + MAX_VIRTIO_DEVICES);
    }
    List<byte[]> devices = new ArrayList<>();
    devices.add(com1());
    devices.add(keyboardController());
    for (int i = 0; i < virtioDevices.size(); i++) {
      devices.add(virtioDevice(i, virtioDevices.get(i)));
    }
    byte[] definitionBlock = Aml.scope("\\_SB_", devices.toArray(byte[][]::new));
    return SystemDescriptionTable.build("DSDT", REVISION, "KILNDSDT", definitionBlock);
  }

  private static byte[] com1() {
    return Aml.device(
        "COM1",
        Aml.name("_HID", Aml.eisaId("PNP0501")),
        Aml.name("_UID", Aml.integer(0)),
        Aml.name("_DDN", Aml.string("COM1")),
        Aml.name(
            "_CRS",
            new ResourceTemplate()
                .ioPort(COM1_PORT, COM1_PORT, 1, COM1_PORT_COUNT)
                .extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, COM1_IRQ)
                .toAml()));
  }

  private static byte[] keyboardController() {
    return Aml.device(
        "PS2_",
        Aml.name("_HID", Aml.eisaId("PNP0303")),
        Aml.method("_STA", 0, false, Aml.returnValue(Aml.integer(STA_PRESENT_AND_WORKING))),
        Aml.name(
            "_CRS",
            new ResourceTemplate()
                .ioPort(I8042_DATA_PORT, I8042_DATA_PORT, 1, 1)
                .ioPort(I8042_COMMAND_PORT, I8042_COMMAND_PORT, 1, 1)
                .extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, I8042_KEYBOARD_IRQ)
                .toAml()));
  }

  private static byte[] virtioDevice(int index, VirtioMmioResource resource) {
    return Aml.device(
        String.format("V%03d", index),
        Aml.name("_HID", Aml.string(VIRTIO_MMIO_HID)),
        Aml.name("_UID", Aml.integer(index)),
        // _CCA 1: DMA from the device is cache-coherent (ACPI 6.5, 6.2.17).
        Aml.name("_CCA", Aml.integer(1)),
        Aml.name(
            "_CRS",
            new ResourceTemplate()
                .memory32Fixed(true, resource.address(), resource.size())
                .extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, resource.irq())
                .toAml()));
  }
}
