package dev.kiln.vmm.ratelimiter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private static final long MILLI = 1_000_000L;

  private final AtomicLong clock = new AtomicLong(1_000 * MILLI);
  private RateLimiter limiter;

  @AfterEach
  void closeLimiter() throws SyscallException {
    if (limiter != null) {
      limiter.close();
    }
  }

  private TokenBucket bucket(long size, long burst, long refillMillis) {
    return new TokenBucket(size, burst, refillMillis, clock::get);
  }

  private RateLimiter limiter(TokenBucket bandwidth, TokenBucket ops) throws SyscallException {
    limiter = new RateLimiter(bandwidth, ops, new TimerFd());
    return limiter;
  }

  private void advanceMillis(long millis) {
    clock.addAndGet(millis * MILLI);
  }

  @Test
  void noBucketsLimitNothing() throws SyscallException {
    RateLimiter limiter = limiter(null, null);

    for (int i = 0; i < 1000; i++) {
      assertThat(limiter.consume(1 << 20)).isTrue();
    }
    assertThat(limiter.blocked()).isFalse();
  }

  @Test
  void opsBucketLetsSizeRequestsThrough() throws SyscallException {
    RateLimiter limiter = limiter(null, bucket(3, 0, 1000));

    assertThat(limiter.consume(4096)).isTrue();
    assertThat(limiter.consume(4096)).isTrue();
    assertThat(limiter.consume(4096)).isTrue();
    assertThat(limiter.consume(4096)).isFalse();
    assertThat(limiter.blocked()).isTrue();
  }

  @Test
  void blockedArmsTimerForMissingTokens() throws SyscallException {
    RateLimiter limiter = limiter(bucket(1000, 0, 100), bucket(10, 0, 1000));
    limiter.consume(900);

    assertThat(limiter.consume(500)).isFalse();

    // 400 bytes at 1000 bytes per 100 ms take 40 ms; the ops bucket has tokens.
    assertThat(limiter.timerDelayNanos()).isEqualTo(40 * MILLI);
  }

  @Test
  void timerDelayIsLongerOfTwoBuckets() throws SyscallException {
    RateLimiter limiter = limiter(bucket(1000, 0, 100), bucket(1, 0, 1000));
    limiter.consume(900);

    assertThat(limiter.consume(500)).isFalse();

    assertThat(limiter.timerDelayNanos()).isEqualTo(1000 * MILLI);
  }

  @Test
  void bucketsTakenAtomically() throws SyscallException {
    TokenBucket bandwidth = bucket(1000, 0, 1000);
    TokenBucket ops = bucket(10, 0, 1000);
    RateLimiter limiter = limiter(bandwidth, ops);

    assertThat(limiter.consume(1001)).isTrue();
    // The bandwidth bucket owes 1 byte, so the next request must leave the ops bucket alone.
    assertThat(limiter.consume(10)).isFalse();

    assertThat(ops.budget()).isEqualTo(9);
    assertThat(bandwidth.budget()).isEqualTo(-1);
  }

  @Test
  void opsShortageLeavesBandwidthUntouched() throws SyscallException {
    TokenBucket bandwidth = bucket(1000, 0, 1000);
    TokenBucket ops = bucket(1, 0, 1000);
    RateLimiter limiter = limiter(bandwidth, ops);
    limiter.consume(100);

    assertThat(limiter.consume(100)).isFalse();

    assertThat(bandwidth.budget()).isEqualTo(900);
  }

  @Test
  void blockedRejectsUntilTimer() throws SyscallException {
    RateLimiter limiter = limiter(null, bucket(1, 0, 1000));
    limiter.consume(0);
    limiter.consume(0);

    advanceMillis(5000);
    assertThat(limiter.consume(0)).isFalse();

    limiter.onTimer();
    assertThat(limiter.blocked()).isFalse();
    assertThat(limiter.consume(0)).isTrue();
  }

  @Test
  void stillShortAfterTimerBlocksAgain() throws SyscallException {
    RateLimiter limiter = limiter(null, bucket(1, 0, 1000));
    limiter.consume(0);
    limiter.consume(0);

    advanceMillis(400);
    limiter.onTimer();

    assertThat(limiter.consume(0)).isFalse();
    assertThat(limiter.blocked()).isTrue();
    assertThat(limiter.timerDelayNanos()).isEqualTo(600 * MILLI);
  }

  @Test
  void realClockUnblocksAfterTimer() throws Exception {
    // A real clock here, because the kernel's timer runs on CLOCK_MONOTONIC.
    limiter = new RateLimiter(null, new TokenBucket(1, 0, 20, System::nanoTime), new TimerFd());
    limiter.consume(0);
    assertThat(limiter.consume(0)).isFalse();

    Thread.sleep(100);

    assertThat(limiter.consume(0)).isFalse();
    limiter.onTimer();
    assertThat(limiter.consume(0)).isTrue();
  }

  @Test
  void oversizedRequestPassesThenBlocks() throws SyscallException {
    RateLimiter limiter = limiter(bucket(1000, 0, 1000), null);

    assertThat(limiter.consume(3000)).isTrue();
    assertThat(limiter.consume(1)).isFalse();
    assertThat(limiter.timerDelayNanos()).isEqualTo(2001 * MILLI);

    advanceMillis(2001);
    limiter.onTimer();
    assertThat(limiter.consume(1)).isTrue();
  }

  @Test
  void oneTimeBurstLetsMoreThroughFirst() throws SyscallException {
    RateLimiter limiter = limiter(null, bucket(2, 3, 1000));

    int passed = 0;
    while (limiter.consume(0)) {
      passed++;
    }

    assertThat(passed).isEqualTo(5);
  }
}
