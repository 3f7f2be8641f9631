package dev.kiln.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link Tap}: name checks and error advice everywhere; opening real TAPs only as root with {@code
 * /dev/net/tun}. Those TAPs are made by Kiln's own {@code TUNSETIFF} and vanish on close.
 */
class TapTest {
  private static void assumeCanCreateTaps() {
    assumeTrue(Files.exists(Path.of(Tap.TUN_DEVICE)), "no /dev/net/tun");
    assumeTrue("root".equals(System.getProperty("user.name")), "creating a TAP needs root");
  }

  private static String tapName() {
    return "kt" + ProcessHandle.current().pid() % 1_000_000;
  }

  @Test
  void namesThatDoNotFitRejectedBeforeAnyCall() {
    assertThatThrownBy(() -> Tap.open("sixteen-bytes-xx", 12, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 15 bytes");
    assertThatThrownBy(() -> Tap.open("", 12, 4)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void hintsNameTheCauseAndTheFix() {
    assertThat(Tap.hint(new SyscallException("open(/dev/net/tun)", Errno.ENOENT), "tap0"))
        .contains("modprobe tun");
    assertThat(Tap.hint(new SyscallException("open(/dev/net/tun)", Errno.EACCES), "tap0"))
        .contains("may not open /dev/net/tun");
    assertThat(Tap.hint(new SyscallException("ioctl(TUNSETIFF tap0)", Errno.EPERM), "tap0"))
        .contains("ip tuntap add dev tap0 mode tap user");
    assertThat(Tap.hint(new SyscallException("ioctl(TUNSETIFF tap0)", Errno.EBUSY), "tap0"))
        .contains("already attached");
    assertThat(Tap.hint(new SyscallException("ioctl(TUNSETIFF lo)", Errno.EINVAL), "lo"))
        .contains("not a TAP device");
  }

  @Test
  void opensNonBlockingWithVnetHeadersAndTakesOffloads() throws SyscallException {
    assumeCanCreateTaps();
    try (Tap tap = Tap.open(tapName(), 12, 8);
        Arena arena = Arena.ofConfined()) {
      assertThat(tap.name()).isEqualTo(tapName());
      tap.setOffload(Tap.TUN_F_CSUM | Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6 | Tap.TUN_F_UFO);
      tap.setOffload(0);
      MemorySegment buffer = arena.allocate(65562);
      // Nothing is queued on a new TAP, and the read does not block.
      assertThat(tap.read(buffer)).isEqualTo(-1);
    }
  }

  @Test
  void secondOpenOfTheSameTapIsBusy() throws SyscallException {
    assumeCanCreateTaps();
    try (Tap first = Tap.open(tapName(), 12, 8)) {
      assertThatThrownBy(() -> Tap.open(first.name(), 12, 8))
          .isInstanceOfSatisfying(
              SyscallException.class,
              e -> {
                assertThat(e.errno()).isEqualTo(Errno.EBUSY);
                assertThat(e.call()).isEqualTo("ioctl(TUNSETIFF " + first.name() + ")");
              });
    }
  }

  @Test
  void deviceThatIsNotATapRejected() {
    assumeCanCreateTaps();
    assertThatThrownBy(() -> Tap.open("lo", 12, 8))
        .isInstanceOfSatisfying(
            SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
  }
}
