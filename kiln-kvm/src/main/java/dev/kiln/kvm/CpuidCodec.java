package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes {@code struct kvm_cpuid2}: a count, padding, then 40-byte entries. */
final class CpuidCodec {
  private CpuidCodec() {}

  static List<CpuidEntry> read(MemorySegment buffer) {
    int count = buffer.get(JAVA_INT, 0);
    List<CpuidEntry> entries = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long o = 8 + (long) i * CpuidEntry.SIZE;
      entries.add(
          new CpuidEntry(
              buffer.get(JAVA_INT, o),
              buffer.get(JAVA_INT, o + 4),
              buffer.get(JAVA_INT, o + 8),
              buffer.get(JAVA_INT, o + 12),
              buffer.get(JAVA_INT, o + 16),
              buffer.get(JAVA_INT, o + 20),
              buffer.get(JAVA_INT, o + 24)));
    }
    return entries;
  }

  static long size(int count) {
    return 8 + (long) CpuidEntry.SIZE * count;
  }

  static void write(List<CpuidEntry> entries, MemorySegment buffer) {
    buffer.fill((byte) 0);
    buffer.set(JAVA_INT, 0, entries.size());
    for (int i = 0; i < entries.size(); i++) {
      CpuidEntry e = entries.get(i);
      long o = 8 + (long) i * CpuidEntry.SIZE;
      buffer.set(JAVA_INT, o, e.function());
      buffer.set(JAVA_INT, o + 4, e.index());
      buffer.set(JAVA_INT, o + 8, e.flags());
      buffer.set(JAVA_INT, o + 12, e.eax());
      buffer.set(JAVA_INT, o + 16, e.ebx());
      buffer.set(JAVA_INT, o + 20, e.ecx());
      buffer.set(JAVA_INT, o + 24, e.edx());
    }
  }
}
