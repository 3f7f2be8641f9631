package dev.kiln.vmm.ratelimiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import dev.kiln.vmm.config.ConfigException;
import org.junit.jupiter.api.Test;

class RateLimiterConfigTest {
  private static void assertRejected(RateLimiterConfig config, String message) {
    assertThatThrownBy(() -> config.validate("vm.json", "entropy.rate_limiter"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("vm.json: ")
        .hasMessageContaining(message);
  }

  @Test
  void emptyLimiterLimitsNothing() {
    RateLimiterConfig config = new RateLimiterConfig(null, null);

    assertThatCode(() -> config.validate("vm.json", "rate_limiter")).doesNotThrowAnyException();
    assertThat(config.limits()).isFalse();
  }

  @Test
  void zeroSizeLimitsNothing() {
    assertThat(new TokenBucketConfig(0L, 100L, 1000L).limits()).isFalse();
  }

  @Test
  void zeroRefillTimeLimitsNothing() {
    assertThat(new TokenBucketConfig(100L, null, 0L).limits()).isFalse();
  }

  @Test
  void negativeSizeRejected() {
    assertRejected(
        new RateLimiterConfig(new TokenBucketConfig(-3L, null, 10L), null),
        "`entropy.rate_limiter.bandwidth.size` is -3; use 0 or a positive number");
  }

  @Test
  void negativeRefillTimeRejected() {
    assertRejected(
        new RateLimiterConfig(null, new TokenBucketConfig(3L, null, -10L)),
        "`entropy.rate_limiter.ops.refill_time` is -10");
  }

  @Test
  void tooLargeRefillTimeRejected() {
    assertRejected(
        new RateLimiterConfig(null, new TokenBucketConfig(3L, null, Long.MAX_VALUE)),
        "`entropy.rate_limiter.ops.refill_time` is " + Long.MAX_VALUE + " ms");
  }

  @Test
  void missingSizeRejected() {
    assertRejected(
        new RateLimiterConfig(null, new TokenBucketConfig(null, null, 10L)),
        "missing `entropy.rate_limiter.ops.size`");
  }

  @Test
  void toRateLimiterSkipsUnlimitedBucket() throws SyscallException {
    RateLimiterConfig config =
        new RateLimiterConfig(
            new TokenBucketConfig(0L, null, 1000L), new TokenBucketConfig(5L, 2L, 1000L));

    try (RateLimiter limiter = config.toRateLimiter(System::nanoTime, new TimerFd())) {
      assertThat(limiter.bandwidth()).isNull();
      assertThat(limiter.ops().size()).isEqualTo(5);
      assertThat(limiter.ops().oneTimeBurst()).isEqualTo(2);
    }
  }
}
