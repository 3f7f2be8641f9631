package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/** A segment register as KVM sees it: {@code struct kvm_segment} (linux/kvm.h, x86), 24 bytes. */
public final class Segment {
  static final int SIZE = 24;

  public long base;
  public int limit;
  public short selector;
  public byte type, present, dpl, db, s, l, g, avl, unusable;

  static Segment read(MemorySegment m, long offset) {
    Segment s = new Segment();
    s.base = m.get(JAVA_LONG, offset);
    s.limit = m.get(JAVA_INT, offset + 8);
    s.selector = m.get(JAVA_SHORT, offset + 12);
    s.type = m.get(JAVA_BYTE, offset + 14);
    s.present = m.get(JAVA_BYTE, offset + 15);
    s.dpl = m.get(JAVA_BYTE, offset + 16);
    s.db = m.get(JAVA_BYTE, offset + 17);
    s.s = m.get(JAVA_BYTE, offset + 18);
    s.l = m.get(JAVA_BYTE, offset + 19);
    s.g = m.get(JAVA_BYTE, offset + 20);
    s.avl = m.get(JAVA_BYTE, offset + 21);
    s.unusable = m.get(JAVA_BYTE, offset + 22);
    return s;
  }

  void write(MemorySegment m, long offset) {
    m.set(JAVA_LONG, offset, base);
    m.set(JAVA_INT, offset + 8, limit);
    m.set(JAVA_SHORT, offset + 12, selector);
    m.set(JAVA_BYTE, offset + 14, type);
    m.set(JAVA_BYTE, offset + 15, present);
    m.set(JAVA_BYTE, offset + 16, dpl);
    m.set(JAVA_BYTE, offset + 17, db);
    m.set(JAVA_BYTE, offset + 18, s);
    m.set(JAVA_BYTE, offset + 19, l);
    m.set(JAVA_BYTE, offset + 20, g);
    m.set(JAVA_BYTE, offset + 21, avl);
    m.set(JAVA_BYTE, offset + 22, unusable);
    m.set(JAVA_BYTE, offset + 23, (byte) 0);
  }

  /**
   * Builds the segment that a GDT descriptor describes, as the CPU would load it.
   *
   * @param selector the selector that names the descriptor
   * @param descriptor the 8-byte descriptor (Intel SDM vol. 3, 3.4.5)
   */
  public static Segment fromDescriptor(int selector, long descriptor) {
    Segment s = new Segment();
    s.base = ((descriptor >>> 16) & 0xFFFFFF) | (((descriptor >>> 56) & 0xFF) << 24);
    long rawLimit = (descriptor & 0xFFFF) | (((descriptor >>> 48) & 0xF) << 16);
    s.g = (byte) ((descriptor >>> 55) & 1);
    s.limit = (int) (s.g == 1 ? (rawLimit << 12) | 0xFFF : rawLimit);
    s.selector = (short) selector;
    s.type = (byte) ((descriptor >>> 40) & 0xF);
    s.s = (byte) ((descriptor >>> 44) & 1);
    s.dpl = (byte) ((descriptor >>> 45) & 3);
    s.present = (byte) ((descriptor >>> 47) & 1);
    s.avl = (byte) ((descriptor >>> 52) & 1);
    s.l = (byte) ((descriptor >>> 53) & 1);
    s.db = (byte) ((descriptor >>> 54) & 1);
    s.unusable = (byte) (s.present == 1 ? 0 : 1);
    return s;
  }

  @Override
  public String toString() {
    return String.format(
        "sel=%04x base=%x limit=%x type=%x s=%d dpl=%d p=%d db=%d l=%d g=%d",
        selector, base, limit, type, s, dpl, present, db, l, g);
  }
}
