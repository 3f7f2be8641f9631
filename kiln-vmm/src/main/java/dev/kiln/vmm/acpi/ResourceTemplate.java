package dev.kiln.vmm.acpi;

import java.io.ByteArrayOutputStream;

/**
 * Builds an ASL {@code ResourceTemplate}: resource descriptors (ACPI 6.5, 6.4) closed by an End Tag
 * and wrapped in an AML Buffer, as a {@code _CRS} object returns them. Add descriptors in order,
 * then call {@link #toAml}.
 */
public final class ResourceTemplate {
  // ACPI 6.5, 6.4.2.5 I/O Port Descriptor: small item 0x08, 7 data bytes.
  static final int IO_PORT_TAG = 0x47;
  // ACPI 6.5, 6.4.2.9 End Tag: small item 0x0f, 1 data byte (the checksum).
  static final int END_TAG = 0x79;
  // ACPI 6.5, 6.4.3.4 32-Bit Fixed Memory Range Descriptor: large item 0x06, 9 data bytes.
  static final int MEMORY32_FIXED_TAG = 0x86;
  // ACPI 6.5, 6.4.3.6 Extended Interrupt Descriptor: large item 0x09.
  static final int EXTENDED_INTERRUPT_TAG = 0x89;

  /** Edge or level triggering of an interrupt (bit 1 of the extended interrupt flags). */
  public enum Trigger {
    LEVEL,
    EDGE
  }

  /** Active-high or active-low polarity of an interrupt (bit 2 of the extended flags). */
  public enum Polarity {
    ACTIVE_HIGH,
    ACTIVE_LOW
  }

  private final ByteArrayOutputStream descriptors = new ByteArrayOutputStream();

  /**
   * Adds an I/O port descriptor with 16-bit decoding: {@code IO(Decode16, minimum, maximum,
   * alignment, length)}.
   *
   * @throws IllegalArgumentException when a port is outside 0 to 0xffff or a size outside 0 to 255
   */
  public ResourceTemplate ioPort(int minimum, int maximum, int alignment, int length) {
    requireRange("I/O port minimum", minimum, 0xffff);
    requireRange("I/O port maximum", maximum, 0xffff);
    requireRange("I/O port alignment", alignment, 0xff);
    requireRange("I/O port range length", length, 0xff);
    descriptors.write(IO_PORT_TAG);
    descriptors.write(1); // information: the device decodes 16 address bits
    writeLittleEndian(minimum, 2);
    writeLittleEndian(maximum, 2);
    descriptors.write(alignment);
    descriptors.write(length);
    return this;
  }

  /**
   * Adds a 32-bit fixed memory range descriptor: {@code Memory32Fixed(ReadWrite or ReadOnly, base,
   * length)}.
   *
   * @throws IllegalArgumentException when the range does not fit below 4 GiB
   */
  public ResourceTemplate memory32Fixed(boolean writable, long base, long length) {
    if (base < 0 || length < 0 || base + length > (1L << 32)) {
      throw new IllegalArgumentException(
          String.format(
              "invalid Memory32Fixed range base 0x%x length 0x%x: it must end at or below 4 GiB",
              base, length));
    }
    descriptors.write(MEMORY32_FIXED_TAG);
    writeLittleEndian(9, 2);
    descriptors.write(writable ? 1 : 0);
    writeLittleEndian(base, 4);
    writeLittleEndian(length, 4);
    return this;
  }

  /**
   * Adds an extended interrupt descriptor for one interrupt that the device consumes and does not
   * share: {@code Interrupt(ResourceConsumer, trigger, polarity, Exclusive) {number}}.
   *
   * @throws IllegalArgumentException when {@code number} is negative
   */
  public ResourceTemplate extendedInterrupt(Trigger trigger, Polarity polarity, int number) {
    if (number < 0) {
      throw new IllegalArgumentException("invalid interrupt number " + number);
    }
    int flags = 0x01; // bit 0: resource consumer
    if (trigger == Trigger.EDGE) {
      flags |= 0x02;
    }
    if (polarity == Polarity.ACTIVE_LOW) {
      flags |= 0x04;
    }
    descriptors.write(EXTENDED_INTERRUPT_TAG);
    writeLittleEndian(6, 2); // flags, table length and one 32-bit interrupt number
    descriptors.write(flags);
    descriptors.write(1);
    writeLittleEndian(number, 4);
    return this;
  }

  /** Returns the descriptors and the End Tag, without the Buffer around them. */
  public byte[] descriptorBytes() {
    byte[] body = descriptors.toByteArray();
    byte[] out = new byte[body.length + 2];
    System.arraycopy(body, 0, out, 0, body.length);
    out[body.length] = (byte) END_TAG;
    // The End Tag's checksum makes all bytes of the template, itself included, sum to zero.
    int sum = 0;
    for (int i = 0; i <= body.length; i++) {
      sum += out[i];
    }
    out[body.length + 1] = (byte) -sum;
    return out;
  }

  /** Returns the template as an AML Buffer term. */
  public byte[] toAml() {
    return Aml.buffer(descriptorBytes());
  }

  private void writeLittleEndian(long value, int width) {
    for (int i = 0; i < width; i++) {
      descriptors.write((int) (value >>> (8 * i)));
    }
  }

  private static void requireRange(String what, int value, int max) {
    if (value < 0 || value > max) {
      throw new IllegalArgumentException(
          String.format("invalid %s %d: use 0 to %d", what, value, max));
    }
  }
}
