package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the serial-echo guest (Linux 64-bit boot protocol), which greets over the UART, reads a
 * line that the test writes to Kiln's stdin and prints it back.
 */
class SerialEchoIT {
  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  @Test
  void serialEchoesStdinLine(@TempDir Path directory) throws Exception {
    Path guest = TestGuests.guest("serial-echo");

    BootResult result;
    try (KilnProcess kiln = KilnProcess.boot(directory, guest, 1, null)) {
      kiln.awaitOutput("kiln-test: hello from the guest");
      kiln.writeInput("ping kiln\n");
      result = kiln.awaitExit();
    }

    String transcript = result.transcript();
    assertThat(result.exitStatus()).as("Kiln's exit status%n%s", transcript).isZero();
    assertThat(result.guestLines())
        .as("guest output%n%s", transcript)
        .contains("hello from the guest", "echo ping kiln");
  }
}
