package dev.kiln.sys;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TimerFdTest {
  @Test
  void drainBeforeExpiryReturnsZero() throws Exception {
    try (TimerFd timer = new TimerFd()) {
      timer.arm(60_000_000_000L);

      assertThat(timer.drain()).isZero();
    }
  }

  @Test
  void drainAfterExpiryReturnsOne() throws Exception {
    try (TimerFd timer = new TimerFd()) {
      timer.arm(1_000_000);
      Thread.sleep(50);

      assertThat(timer.drain()).isEqualTo(1);
      assertThat(timer.drain()).isZero();
    }
  }

  @Test
  void disarmStopsExpiry() throws Exception {
    try (TimerFd timer = new TimerFd()) {
      timer.arm(20_000_000);
      timer.disarm();
      Thread.sleep(50);

      assertThat(timer.drain()).isZero();
    }
  }

  @Test
  void armAcceptsZeroDelay() throws Exception {
    try (TimerFd timer = new TimerFd()) {
      timer.arm(0);
      Thread.sleep(20);

      assertThat(timer.drain()).isEqualTo(1);
    }
  }
}
