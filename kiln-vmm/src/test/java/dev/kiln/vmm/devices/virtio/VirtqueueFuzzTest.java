package dev.kiln.vmm.devices.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Feeds the split-queue parser rings full of random descriptors, as a hostile driver could write
 * them, and checks that every outcome is a chain inside guest RAM or a {@link VirtqueueException}:
 * no other exception, no access outside RAM. The try count is the fixed budget CI spends.
 */
class VirtqueueFuzzTest {
  // Two RAM regions with a hole between them, so that addresses can miss RAM in the middle too.
  private static final long LOW_SIZE = 1 << 20;
  private static final long HIGH_START = 0x20_0000;
  private static final long HIGH_SIZE = 0x1_0000;
  private static final long DESCRIPTORS = 0x1000;
  private static final long AVAILABLE = 0x9000;
  private static final long USED = 0xa000;

  private static GuestMemory memory() {
    Arena arena = Arena.ofAuto();
    MemorySegment low = arena.allocate(LOW_SIZE, 4096);
    MemorySegment high = arena.allocate(HIGH_SIZE, 4096);
    return new GuestMemory(List.of(new GuestRegion(0, low), new GuestRegion(HIGH_START, high)));
  }

  /** A descriptor address that is often near a region edge, in the hole, or far outside RAM. */
  private static long address(Random random) {
    return switch (random.nextInt(6)) {
      case 0 -> random.nextLong();
      case 1 -> LOW_SIZE - random.nextInt(64);
      case 2 -> HIGH_START + HIGH_SIZE - random.nextInt(64);
      case 3 -> LOW_SIZE + random.nextInt(0x10_0000);
      default -> random.nextInt((int) LOW_SIZE);
    };
  }

  private static int length(Random random) {
    return switch (random.nextInt(5)) {
      case 0 -> random.nextInt();
      case 1 -> random.nextInt(16) * 16;
      default -> random.nextInt(4096);
    };
  }

  @Property(tries = 3000)
  void randomRingsNeverEscape(
      @ForAll long seed,
      @ForAll @IntRange(min = 0, max = 8) int sizeLog2,
      @ForAll boolean indirect,
      @ForAll boolean eventIndex) {
    Random random = new Random(seed);
    GuestMemory memory = memory();
    int size = 1 << sizeLog2;
    for (int i = 0; i < size; i++) {
      long at = DESCRIPTORS + 16L * i;
      memory.writeU64(at, address(random));
      memory.writeU32(at + 8, length(random));
      memory.writeU16(at + 12, random.nextInt(8));
      memory.writeU16(
          at + 14, random.nextInt(4) == 0 ? random.nextInt(65536) : random.nextInt(size));
    }
    // Indirect tables anywhere in low RAM, filled with random descriptors too.
    for (int i = 0; i < 64; i++) {
      long at = 0x10000 + 16L * random.nextInt(1024);
      memory.writeU64(at, address(random));
      memory.writeU32(at + 8, length(random));
      memory.writeU16(at + 12, random.nextInt(8));
      memory.writeU16(at + 14, random.nextInt(64));
    }
    memory.writeU16(AVAILABLE, random.nextInt(2));
    memory.writeU16(
        AVAILABLE + 2, random.nextInt(3) == 0 ? random.nextInt(65536) : random.nextInt(size + 1));
    for (int i = 0; i < size; i++) {
      memory.writeU16(
          AVAILABLE + 4 + 2L * i,
          random.nextInt(4) == 0 ? random.nextInt(65536) : random.nextInt(size));
    }

    Virtqueue queue = new Virtqueue(256);
    queue.setSize(size);
    queue.setDescriptorTable(DESCRIPTORS);
    queue.setAvailableRing(AVAILABLE);
    queue.setUsedRing(USED);
    long features = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);
    if (indirect) {
      features |= VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_INDIRECT_DESC);
    }
    if (eventIndex) {
      features |= VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX);
    }
    try {
      queue.activate(memory, features);
    } catch (VirtqueueException e) {
      return; // a rejected queue setup is a valid outcome
    }
    for (int i = 0; i < size + 2; i++) {
      DescriptorChain chain;
      try {
        chain = queue.pop();
      } catch (VirtqueueException e) {
        continue; // the guest's error is reported, and parsing goes on with the next entry
      }
      if (chain == null) {
        break;
      }
      assertThat(chain.head()).isBetween(0, size - 1);
      assertThat(chain.descriptors()).isNotEmpty();
      assertThat(chain.descriptors().size()).isLessThanOrEqualTo(Math.max(size, 2048));
      for (Descriptor d : chain.descriptors()) {
        assertThat(d.length()).isNotNegative();
        assertThat(memory.contains(d.address(), d.length())).isTrue();
      }
      queue.addUsed(chain.head(), random.nextInt(4096));
      queue.needsInterrupt(queue.usedIndex() - 1);
    }
  }
}
