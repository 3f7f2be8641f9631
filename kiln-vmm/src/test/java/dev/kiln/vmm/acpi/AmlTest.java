package dev.kiln.vmm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * Byte-exact encodings of AML terms, worked out by hand from the grammar in ACPI 6.5, 20.2. {@link
 * AcpiTablesIaslTest} checks whole tables with iasl.
 */
class AmlTest {
  private static byte[] bytes(int... values) {
    byte[] out = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (byte) values[i];
    }
    return out;
  }

  @Test
  void nameStringPadsShortSegment() {
    assertThat(Aml.nameString("PS2")).containsExactly(bytes('P', 'S', '2', '_'));
  }

  @Test
  void nameStringRootDualAndMulti() {
    assertThat(Aml.nameString("\\_SB_")).containsExactly(bytes('\\', '_', 'S', 'B', '_'));
    assertThat(Aml.nameString("\\_SB_.COM1"))
        .containsExactly(bytes('\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
    assertThat(Aml.nameString("A.B.C"))
        .containsExactly(
            bytes(0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'));
    assertThat(Aml.nameString("^^FOO")).containsExactly(bytes('^', '^', 'F', 'O', 'O', '_'));
    assertThat(Aml.nameString("\\")).containsExactly(bytes('\\', 0x00));
  }

  @Test
  void nameStringRejectsInvalidSegments() {
    assertThatThrownBy(() -> Aml.nameString("1ABC"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'1ABC'");
    assertThatThrownBy(() -> Aml.nameString("ABCDE"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 4 characters");
    assertThatThrownBy(() -> Aml.nameString("abc")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Aml.nameString("_SB_..X"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void packageLengthOneByteUpTo63() {
    assertThat(Aml.packageLength(0)).containsExactly(bytes(0x01));
    assertThat(Aml.packageLength(62)).containsExactly(bytes(0x3f));
  }

  @Test
  void packageLengthTwoBytesFrom64() {
    // 63 bytes of content and 2 PkgLength bytes: 65 = 0x041, low nibble in the lead byte.
    assertThat(Aml.packageLength(63)).containsExactly(bytes(0x41, 0x04));
    // The largest two-byte length is 0xfff.
    assertThat(Aml.packageLength(0xfff - 2)).containsExactly(bytes(0x4f, 0xff));
  }

  @Test
  void packageLengthThreeAndFourBytes() {
    assertThat(Aml.packageLength(0xfff - 1)).containsExactly(bytes(0x81, 0x00, 0x01));
    assertThat(Aml.packageLength(0xfffff - 3)).containsExactly(bytes(0x8f, 0xff, 0xff));
    assertThat(Aml.packageLength(0xfffff - 2)).containsExactly(bytes(0xc1, 0x00, 0x00, 0x01));
    assertThat(Aml.packageLength(Aml.MAX_PACKAGE_LENGTH - 4))
        .containsExactly(bytes(0xcf, 0xff, 0xff, 0xff));
  }

  @Test
  void packageLengthRejectsMoreThan28Bits() {
    assertThatThrownBy(() -> Aml.packageLength(Aml.MAX_PACKAGE_LENGTH - 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("too long");
  }

  @Test
  void integerUsesShortestEncoding() {
    assertThat(Aml.integer(0)).containsExactly(bytes(0x00));
    assertThat(Aml.integer(1)).containsExactly(bytes(0x01));
    assertThat(Aml.integer(2)).containsExactly(bytes(0x0a, 0x02));
    assertThat(Aml.integer(0xff)).containsExactly(bytes(0x0a, 0xff));
    assertThat(Aml.integer(0x100)).containsExactly(bytes(0x0b, 0x00, 0x01));
    assertThat(Aml.integer(0xffff)).containsExactly(bytes(0x0b, 0xff, 0xff));
    assertThat(Aml.integer(0x1_0000)).containsExactly(bytes(0x0c, 0x00, 0x00, 0x01, 0x00));
    assertThat(Aml.integer(0xd000_1000L)).containsExactly(bytes(0x0c, 0x00, 0x10, 0x00, 0xd0));
    assertThat(Aml.integer(0x1_0000_0000L)).containsExactly(bytes(0x0e, 0, 0, 0, 0, 1, 0, 0, 0));
    assertThat(Aml.integer(-1L)).containsExactly(bytes(0xff));
    assertThat(Aml.integer(-2L))
        .containsExactly(bytes(0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
  }

  @Test
  void stringEndsWithNul() {
    assertThat(Aml.string("LNRO0005"))
        .containsExactly(bytes(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00));
    assertThat(Aml.string("")).containsExactly(bytes(0x0d, 0x00));
  }

  @Test
  void stringRejectsNonAscii() {
    assertThatThrownBy(() -> Aml.string("caf\u00e9"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ASCII");
  }

  @Test
  void eisaIdCompressesVendorLetters() {
    // EISAID("PNP0303") is 0x0303d041 and EISAID("PNP0501") 0x0105d041, as iasl computes them.
    assertThat(Aml.eisaId("PNP0303")).containsExactly(bytes(0x0c, 0x41, 0xd0, 0x03, 0x03));
    assertThat(Aml.eisaId("PNP0501")).containsExactly(bytes(0x0c, 0x41, 0xd0, 0x05, 0x01));
  }

  @Test
  void eisaIdRejectsMalformedId() {
    assertThatThrownBy(() -> Aml.eisaId("PNP030"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PNP030");
    assertThatThrownBy(() -> Aml.eisaId("pnp0303")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nameWithInteger() {
    assertThat(Aml.name("_UID", Aml.integer(0)))
        .containsExactly(bytes(0x08, '_', 'U', 'I', 'D', 0x00));
  }

  @Test
  void bufferCarriesItsSize() {
    assertThat(Aml.buffer(bytes(1, 2, 3))).containsExactly(bytes(0x11, 0x06, 0x0a, 0x03, 1, 2, 3));
  }

  @Test
  void packageCountsElements() {
    assertThat(Aml.packageOf(Aml.integer(1), Aml.string("a")))
        .containsExactly(bytes(0x12, 0x06, 0x02, 0x01, 0x0d, 'a', 0x00));
  }

  @Test
  void methodReturningConstant() {
    // Method (_STA, 0, NotSerialized) { Return (0x0F) }
    assertThat(Aml.method("_STA", 0, false, Aml.returnValue(Aml.integer(0x0f))))
        .containsExactly(bytes(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f));
  }

  @Test
  void methodFlagsCarryArgumentsAndSerialized() {
    byte[] method = Aml.method("ABCD", 3, true);
    assertThat(method[6]).isEqualTo((byte) 0x0b);
    assertThatThrownBy(() -> Aml.method("ABCD", 8, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("8");
  }

  @Test
  void deviceAndScope() {
    assertThat(Aml.device("PS2_")).containsExactly(bytes(0x5b, 0x82, 0x05, 'P', 'S', '2', '_'));
    assertThat(Aml.scope("\\_SB_", Aml.device("PS2_")))
        .containsExactly(
            bytes(0x10, 0x0d, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 0x05, 'P', 'S', '2', '_'));
  }

  @Test
  void deviceOver63BytesTwoByteLength() {
    byte[] device = Aml.device("V000", Aml.name("_HID", Aml.buffer(new byte[80])));
    // Buffer: 0x11, a 2-byte PkgLength, BufferSize 0x0a 0x50, 80 bytes = 85. Name: 1 + 4 + 85 =
    // 90. Device content: 4 name bytes + 90 = 94; with 2 PkgLength bytes 96 = 0x060.
    assertThat(device[0]).isEqualTo((byte) 0x5b);
    assertThat(device[1]).isEqualTo((byte) 0x82);
    assertThat(device[2]).isEqualTo((byte) 0x40);
    assertThat(device[3]).isEqualTo((byte) 0x06);
    assertThat(device).hasSize(2 + 96);
  }
}
