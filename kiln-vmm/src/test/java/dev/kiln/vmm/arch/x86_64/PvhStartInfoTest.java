package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

class PvhStartInfoTest {
  private static final long INFO = 0x6000;
  private static final long MODLIST = 0x6040;
  private static final long MEMMAP = 0x7000;
  private static final long INITRD_ADDRESS = 0x0780_0000;
  private static final long INITRD_SIZE = 0x12_3456;
  private static final List<E820Entry> MAP = E820Entry.memoryMap(5L << 30);

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(0x10000, 4096))));

  @Test
  void startInfoHasMagicAndVersion() {
    PvhStartInfo.write(memory, 0, 0, 0, MAP);

    assertThat(memory.readU32(INFO)).as("magic").isEqualTo(0x336ec578);
    assertThat(memory.readU32(INFO + 4)).as("version").isEqualTo(1);
    assertThat(memory.readU32(INFO + 8)).as("flags").isZero();
  }

  @Test
  void startInfoWithInitrdHasModule() {
    PvhStartInfo.write(memory, INITRD_ADDRESS, INITRD_SIZE, 0, MAP);

    assertThat(memory.readU32(INFO + 12)).as("nr_modules").isEqualTo(1);
    assertThat(memory.readU64(INFO + 16)).as("modlist_paddr").isEqualTo(MODLIST);
  }

  @Test
  void startInfoWithoutInitrdHasNoModules() {
    memory.slice(INFO, 0x100).fill((byte) 0xee);

    PvhStartInfo.write(memory, 0, 0, 0, MAP);

    assertThat(memory.readU32(INFO + 12)).as("nr_modules").isZero();
    assertThat(memory.readU64(INFO + 16)).as("modlist_paddr").isZero();
  }

  @Test
  void startInfoPointsAtCmdlineAndMemmap() {
    PvhStartInfo.write(memory, 0, 0, 0, MAP);

    assertThat(memory.readU64(INFO + 24)).as("cmdline_paddr").isEqualTo(0x20000);
    assertThat(memory.readU64(INFO + 32)).as("rsdp_paddr").isZero();
    assertThat(memory.readU64(INFO + 40)).as("memmap_paddr").isEqualTo(MEMMAP);
    assertThat(memory.readU32(INFO + 48)).as("memmap_entries").isEqualTo(MAP.size());
  }

  @Test
  void moduleEntryDescribesInitrd() {
    memory.slice(MODLIST, 32).fill((byte) 0xee);

    PvhStartInfo.write(memory, INITRD_ADDRESS, INITRD_SIZE, 0, MAP);

    assertThat(memory.readU64(MODLIST)).as("paddr").isEqualTo(INITRD_ADDRESS);
    assertThat(memory.readU64(MODLIST + 8)).as("size").isEqualTo(INITRD_SIZE);
    assertThat(memory.readU64(MODLIST + 16)).as("cmdline_paddr").isZero();
    assertThat(memory.readU64(MODLIST + 24)).as("reserved").isZero();
  }

  @Test
  void memmapEntriesMatchMap() {
    memory.slice(MEMMAP, 24L * MAP.size()).fill((byte) 0xee);

    PvhStartInfo.write(memory, 0, 0, 0, MAP);

    for (int i = 0; i < MAP.size(); i++) {
      long at = MEMMAP + 24L * i;
      assertThat(memory.readU64(at)).as("addr of entry %d", i).isEqualTo(MAP.get(i).address());
      assertThat(memory.readU64(at + 8)).as("size of entry %d", i).isEqualTo(MAP.get(i).size());
      assertThat(memory.readU32(at + 16)).as("type of entry %d", i).isEqualTo(MAP.get(i).type());
      assertThat(memory.readU32(at + 20)).as("reserved of entry %d", i).isZero();
    }
  }

  @Test
  void startInfoEndsBeforeModlist() {
    assertThat(INFO + PvhStartInfo.START_INFO_SIZE).isLessThanOrEqualTo(MODLIST);
  }

  @Test
  void rsdpPaddrAtOffset32() {
    PvhStartInfo.write(memory, 0, 0, 0xe0000, MAP);

    assertThat(memory.readU64(INFO + 32)).isEqualTo(0xe0000);
  }
}
