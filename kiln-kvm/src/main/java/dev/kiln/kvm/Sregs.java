package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/**
 * Special registers of a vCPU: {@code struct kvm_sregs} (linux/kvm.h, x86). The interrupt bitmap is
 * kept as read so that writing the structure back leaves pending interrupts alone.
 */
public final class Sregs {
  /** Size of {@code struct kvm_sregs}. */
  public static final int SIZE = 312;

  public Segment cs, ds, es, fs, gs, ss, tr, ldt;
  public long gdtBase, idtBase;
  public short gdtLimit, idtLimit;
  public long cr0, cr2, cr3, cr4, cr8, efer, apicBase;
  private final long[] interruptBitmap = new long[4];

  /** Reads the structure from native memory. */
  public static Sregs read(MemorySegment m) {
    Sregs r = new Sregs();
    r.cs = Segment.read(m, 0);
    r.ds = Segment.read(m, 24);
    r.es = Segment.read(m, 48);
    r.fs = Segment.read(m, 72);
    r.gs = Segment.read(m, 96);
    r.ss = Segment.read(m, 120);
    r.tr = Segment.read(m, 144);
    r.ldt = Segment.read(m, 168);
    r.gdtBase = m.get(JAVA_LONG, 192);
    r.gdtLimit = m.get(JAVA_SHORT, 200);
    r.idtBase = m.get(JAVA_LONG, 208);
    r.idtLimit = m.get(JAVA_SHORT, 216);
    r.cr0 = m.get(JAVA_LONG, 224);
    r.cr2 = m.get(JAVA_LONG, 232);
    r.cr3 = m.get(JAVA_LONG, 240);
    r.cr4 = m.get(JAVA_LONG, 248);
    r.cr8 = m.get(JAVA_LONG, 256);
    r.efer = m.get(JAVA_LONG, 264);
    r.apicBase = m.get(JAVA_LONG, 272);
    for (int i = 0; i < 4; i++) {
      r.interruptBitmap[i] = m.get(JAVA_LONG, 280 + 8L * i);
    }
    return r;
  }

  /** Writes the structure to native memory. */
  public void write(MemorySegment m) {
    m.asSlice(0, SIZE).fill((byte) 0);
    cs.write(m, 0);
    ds.write(m, 24);
    es.write(m, 48);
    fs.write(m, 72);
    gs.write(m, 96);
    ss.write(m, 120);
    tr.write(m, 144);
    ldt.write(m, 168);
    m.set(JAVA_LONG, 192, gdtBase);
    m.set(JAVA_SHORT, 200, gdtLimit);
    m.set(JAVA_LONG, 208, idtBase);
    m.set(JAVA_SHORT, 216, idtLimit);
    m.set(JAVA_LONG, 224, cr0);
    m.set(JAVA_LONG, 232, cr2);
    m.set(JAVA_LONG, 240, cr3);
    m.set(JAVA_LONG, 248, cr4);
    m.set(JAVA_LONG, 256, cr8);
    m.set(JAVA_LONG, 264, efer);
    m.set(JAVA_LONG, 272, apicBase);
    for (int i = 0; i < 4; i++) {
      m.set(JAVA_LONG, 280 + 8L * i, interruptBitmap[i]);
    }
  }

  @Override
  public String toString() {
    return String.format(
        "cr0=%x cr2=%x cr3=%x cr4=%x efer=%x apic_base=%x gdt=%x/%x idt=%x/%x cs={%s} ss={%s}"
            + " tr={%s}",
        cr0, cr2, cr3, cr4, efer, apicBase, gdtBase, gdtLimit, idtBase, idtLimit, cs, ss, tr);
  }
}
