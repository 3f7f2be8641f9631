package dev.kiln.vmm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.acpi.ResourceTemplate.Polarity;
import dev.kiln.vmm.acpi.ResourceTemplate.Trigger;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Resource descriptors byte for byte, from the layouts in ACPI 6.5, 6.4. */
class ResourceTemplateTest {
  private static byte[] bytes(int... values) {
    byte[] out = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (byte) values[i];
    }
    return out;
  }

  private static int sum(byte[] bytes) {
    int sum = 0;
    for (byte b : bytes) {
      sum += b;
    }
    return sum & 0xff;
  }

  /** Returns the descriptors without the two End Tag bytes. */
  private static byte[] withoutEndTag(ResourceTemplate template) {
    byte[] all = template.descriptorBytes();
    return Arrays.copyOf(all, all.length - 2);
  }

  @Test
  void ioPortDecodes16Bits() {
    ResourceTemplate template = new ResourceTemplate().ioPort(0x3f8, 0x3f8, 1, 8);

    assertThat(withoutEndTag(template))
        .containsExactly(bytes(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08));
  }

  @Test
  void memory32FixedReadWrite() {
    ResourceTemplate template = new ResourceTemplate().memory32Fixed(true, 0xd000_1000L, 0x1000);

    assertThat(withoutEndTag(template))
        .containsExactly(
            bytes(0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00));
  }

  @Test
  void memory32FixedReadOnly() {
    byte[] bytes = withoutEndTag(new ResourceTemplate().memory32Fixed(false, 0, 1));

    assertThat(bytes[3]).isZero();
  }

  @Test
  void extendedInterruptEdgeActiveHigh() {
    ResourceTemplate template =
        new ResourceTemplate().extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, 5);

    assertThat(withoutEndTag(template))
        .containsExactly(bytes(0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00));
  }

  @Test
  void extendedInterruptLevelActiveLow() {
    byte[] bytes =
        withoutEndTag(
            new ResourceTemplate().extendedInterrupt(Trigger.LEVEL, Polarity.ACTIVE_LOW, 300));

    assertThat(bytes[3]).as("flags: consumer, level, active-low").isEqualTo((byte) 0x05);
    assertThat(bytes[5]).isEqualTo((byte) 0x2c);
    assertThat(bytes[6]).isEqualTo((byte) 0x01);
  }

  @Test
  void endTagChecksumZeroesTheSum() {
    byte[] template =
        new ResourceTemplate()
            .ioPort(0x60, 0x60, 1, 1)
            .extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, 1)
            .descriptorBytes();

    assertThat(template[template.length - 2]).isEqualTo((byte) 0x79);
    assertThat(sum(template)).isZero();
  }

  @Test
  void emptyTemplateIsEndTagOnly() {
    assertThat(new ResourceTemplate().descriptorBytes()).containsExactly(bytes(0x79, 0x87));
  }

  @Test
  void toAmlWrapsInBuffer() {
    byte[] aml = new ResourceTemplate().memory32Fixed(true, 0xe800_0000L, 0x1000_0000).toAml();

    // Buffer, PkgLength 17, BufferSize 14 as a ByteConst, then the 12 + 2 template bytes.
    assertThat(Arrays.copyOf(aml, 4)).containsExactly(bytes(0x11, 0x11, 0x0a, 0x0e));
    assertThat(aml).hasSize(2 + 16);
  }

  @Test
  void rejectsOutOfRangeValues() {
    assertThatThrownBy(() -> new ResourceTemplate().ioPort(0x10000, 0, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("65536");
    assertThatThrownBy(() -> new ResourceTemplate().memory32Fixed(true, 0xffff_f000L, 0x2000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4 GiB");
    assertThatThrownBy(
            () -> new ResourceTemplate().extendedInterrupt(Trigger.EDGE, Polarity.ACTIVE_HIGH, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
