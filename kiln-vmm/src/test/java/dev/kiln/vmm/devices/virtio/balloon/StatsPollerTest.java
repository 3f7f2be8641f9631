package dev.kiln.vmm.devices.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.sys.SyscallException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The statistics timer calls its request action on each expiry and arms itself again. */
class StatsPollerTest {
  @Test
  void expiryCallsRequest() throws SyscallException {
    AtomicInteger requests = new AtomicInteger();
    try (StatsPoller poller = new StatsPoller(1, requests::incrementAndGet)) {
      poller.start();

      poller.onTimer();
      poller.onTimer();

      assertThat(requests.get()).isEqualTo(2);
    }
  }

  @Test
  void zeroIntervalRejected() {
    assertThatThrownBy(() -> new StatsPoller(0, () -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 1 second: 0");
  }
}
