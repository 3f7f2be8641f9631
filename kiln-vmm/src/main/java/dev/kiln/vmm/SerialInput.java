package dev.kiln.vmm;

import dev.kiln.vmm.devices.legacy.Serial;
import java.io.IOException;
import java.io.InputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Copies host input into the guest's serial port on a daemon thread until end of input. */
final class SerialInput {
  private static final Logger LOG = LoggerFactory.getLogger(SerialInput.class);

  private SerialInput() {}

  static void start(InputStream in, Serial serial) {
    Thread.ofPlatform()
        .daemon()
        .name("kiln_serial_in")
        .start(
            () -> {
              byte[] buffer = new byte[256];
              try {
                int n;
                while ((n = in.read(buffer)) > 0) {
                  serial.receive(buffer, n);
                }
              } catch (IOException e) {
                LOG.warn("Reading serial input failed: {}", e.getMessage());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
  }
}
