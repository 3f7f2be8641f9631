package dev.kiln.vmm.arch.x86_64;

import dev.kiln.kvm.Segment;
import dev.kiln.vmm.memory.GuestMemory;

/**
 * The global descriptor tables used at entry (Intel SDM vol. 3, 3.4.5). Index 1 is the code
 * segment, 2 the data segment, 3 the task state segment.
 */
public final class Gdt {
  /** Selector of the code segment. */
  public static final int CODE_SELECTOR = 1 << 3;

  /** Selector of the data segment. */
  public static final int DATA_SELECTOR = 2 << 3;

  /** Selector of the TSS. */
  public static final int TSS_SELECTOR = 3 << 3;

  private final long[] descriptors;

  private Gdt(long... descriptors) {
    this.descriptors = descriptors;
  }

  /** Flat 64-bit code, flat data and a busy TSS: the state of the Linux 64-bit boot protocol. */
  public static Gdt longMode() {
    return new Gdt(
        0,
        descriptor(0xa09b, 0, 0xfffff), // present, code exec/read accessed, L, G
        descriptor(0xc093, 0, 0xfffff), // present, data read/write accessed, D/B, G
        descriptor(0x808b, 0, 0xfffff)); // present, busy TSS, G
  }

  /**
   * Flat 32-bit code and data and a 32-bit busy TSS with base 0 and limit 0x67: the state the PVH
   * specification (xen docs/misc/pvh.pandoc) requires.
   */
  public static Gdt protectedMode() {
    return new Gdt(
        0,
        descriptor(0xc09b, 0, 0xfffff),
        descriptor(0xc093, 0, 0xfffff),
        descriptor(0x008b, 0, 0x67));
  }

  /**
   * Encodes a segment descriptor from its flags (access byte in bits 0-7, the G, D/B, L and AVL
   * nibble in bits 12-15), base and 20-bit limit.
   */
  static long descriptor(int flags, long base, long limit) {
    return ((base & 0xff00_0000L) << 32)
        | (((long) flags & 0xf0ff) << 40)
        | ((limit & 0xf_0000L) << 32)
        | ((base & 0x00ff_ffffL) << 16)
        | (limit & 0xffffL);
  }

  /** Returns the raw descriptor at an index. */
  public long descriptor(int index) {
    return descriptors[index];
  }

  /** Returns the segment register value for a selector of this table. */
  public Segment segment(int selector) {
    return Segment.fromDescriptor(selector, descriptors[selector >> 3]);
  }

  /** Returns the table's limit: its size in bytes minus one. */
  public short limit() {
    return (short) (descriptors.length * 8 - 1);
  }

  /** Writes the table at {@link Layout#GDT_START} and an empty IDT at {@link Layout#IDT_START}. */
  public void write(GuestMemory memory) {
    for (int i = 0; i < descriptors.length; i++) {
      memory.writeU64(Layout.GDT_START + 8L * i, descriptors[i]);
    }
    memory.writeU64(Layout.IDT_START, 0);
  }
}
