package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.kvm.Segment;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

class GdtTest {
  @Test
  void longModeNullDescriptor() {
    assertThat(Gdt.longMode().descriptor(0)).isZero();
  }

  @Test
  void longModeCodeDescriptor() {
    assertThat(Gdt.longMode().descriptor(1)).isEqualTo(0x00af_9b00_0000_ffffL);
  }

  @Test
  void longModeDataDescriptor() {
    assertThat(Gdt.longMode().descriptor(2)).isEqualTo(0x00cf_9300_0000_ffffL);
  }

  @Test
  void longModeTssDescriptor() {
    assertThat(Gdt.longMode().descriptor(3)).isEqualTo(0x008f_8b00_0000_ffffL);
  }

  @Test
  void protectedModeCodeDescriptor() {
    assertThat(Gdt.protectedMode().descriptor(1)).isEqualTo(0x00cf_9b00_0000_ffffL);
  }

  @Test
  void protectedModeDataDescriptor() {
    assertThat(Gdt.protectedMode().descriptor(2)).isEqualTo(0x00cf_9300_0000_ffffL);
  }

  @Test
  void protectedModeTssDescriptor() {
    assertThat(Gdt.protectedMode().descriptor(3)).isEqualTo(0x0000_8b00_0000_0067L);
  }

  @Test
  void descriptorSplitsBaseAndLimit() {
    long descriptor = Gdt.descriptor(0xc093, 0x1234_5678L, 0xabcde);

    assertThat(descriptor).isEqualTo(0x12ca_9334_5678_bcdeL);
  }

  @Test
  void limitCoversFourDescriptors() {
    assertThat(Gdt.longMode().limit()).isEqualTo((short) 31);
    assertThat(Gdt.protectedMode().limit()).isEqualTo((short) 31);
  }

  @Test
  void longModeCodeSegmentDecodes() {
    Segment cs = Gdt.longMode().segment(Gdt.CODE_SELECTOR);

    assertThat(cs.selector).isEqualTo((short) 0x08);
    assertThat(cs.base).isZero();
    assertThat(cs.limit).isEqualTo(0xffff_ffff);
    assertThat(cs.type).as("execute/read, accessed").isEqualTo((byte) 0xb);
    assertThat(cs.s).as("code or data").isEqualTo((byte) 1);
    assertThat(cs.present).isEqualTo((byte) 1);
    assertThat(cs.dpl).isZero();
    assertThat(cs.l).as("64-bit").isEqualTo((byte) 1);
    assertThat(cs.db).as("D must be clear with L").isZero();
    assertThat(cs.g).isEqualTo((byte) 1);
    assertThat(cs.unusable).isZero();
  }

  @Test
  void longModeDataSegmentDecodes() {
    Segment ds = Gdt.longMode().segment(Gdt.DATA_SELECTOR);

    assertThat(ds.selector).isEqualTo((short) 0x10);
    assertThat(ds.base).isZero();
    assertThat(ds.limit).isEqualTo(0xffff_ffff);
    assertThat(ds.type).as("read/write, accessed").isEqualTo((byte) 3);
    assertThat(ds.s).isEqualTo((byte) 1);
    assertThat(ds.present).isEqualTo((byte) 1);
    assertThat(ds.l).isZero();
    assertThat(ds.db).isEqualTo((byte) 1);
    assertThat(ds.g).isEqualTo((byte) 1);
  }

  @Test
  void longModeTssSegmentDecodes() {
    Segment tr = Gdt.longMode().segment(Gdt.TSS_SELECTOR);

    assertThat(tr.selector).isEqualTo((short) 0x18);
    assertThat(tr.type).as("busy TSS").isEqualTo((byte) 0xb);
    assertThat(tr.s).as("system segment").isZero();
    assertThat(tr.present).isEqualTo((byte) 1);
  }

  @Test
  void protectedModeCodeSegmentDecodes() {
    Segment cs = Gdt.protectedMode().segment(Gdt.CODE_SELECTOR);

    assertThat(cs.base).isZero();
    assertThat(cs.limit).isEqualTo(0xffff_ffff);
    assertThat(cs.type).isEqualTo((byte) 0xb);
    assertThat(cs.l).isZero();
    assertThat(cs.db).as("32-bit default size").isEqualTo((byte) 1);
    assertThat(cs.g).isEqualTo((byte) 1);
  }

  @Test
  void protectedModeTssSegmentDecodes() {
    Segment tr = Gdt.protectedMode().segment(Gdt.TSS_SELECTOR);

    assertThat(tr.base).isZero();
    assertThat(tr.limit).isEqualTo(0x67);
    assertThat(tr.type).as("32-bit busy TSS").isEqualTo((byte) 0xb);
    assertThat(tr.s).isZero();
    assertThat(tr.present).isEqualTo((byte) 1);
    assertThat(tr.g).as("byte granularity").isZero();
  }

  @Test
  void writePlacesGdtAndEmptyIdt() {
    GuestMemory memory =
        new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(0x1000, 4096))));
    memory.slice(0x500, 0x28).fill((byte) 0xee);
    Gdt gdt = Gdt.longMode();

    gdt.write(memory);

    for (int i = 0; i < 4; i++) {
      assertThat(memory.readU64(0x500 + 8L * i))
          .as("descriptor %d", i)
          .isEqualTo(gdt.descriptor(i));
    }
    assertThat(memory.readU64(0x520)).as("IDT").isZero();
  }
}
