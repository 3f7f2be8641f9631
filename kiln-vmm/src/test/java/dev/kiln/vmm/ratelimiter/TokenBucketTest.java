package dev.kiln.vmm.ratelimiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
  private static final long MILLI = 1_000_000L;

  private final AtomicLong clock = new AtomicLong(5_000 * MILLI);

  private TokenBucket bucket(long size, long burst, long refillMillis) {
    return new TokenBucket(size, burst, refillMillis, clock::get);
  }

  private void advanceMillis(long millis) {
    clock.addAndGet(millis * MILLI);
  }

  @Test
  void startsFull() {
    TokenBucket bucket = bucket(100, 0, 1000);

    assertThat(bucket.budget()).isEqualTo(100);
    assertThat(bucket.reduce(100)).isTrue();
    assertThat(bucket.reduce(1)).isFalse();
  }

  @Test
  void failedReduceTakesNothing() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(60);

    assertThat(bucket.reduce(50)).isFalse();
    assertThat(bucket.budget()).isEqualTo(40);
  }

  @Test
  void refillProportionalToElapsedTime() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(100);

    advanceMillis(250);
    assertThat(bucket.budget()).isEqualTo(25);

    advanceMillis(500);
    assertThat(bucket.budget()).isEqualTo(75);
  }

  @Test
  void refillStopsAtSize() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(10);

    advanceMillis(10_000);

    assertThat(bucket.budget()).isEqualTo(100);
  }

  @Test
  void refillKeepsFractionsOfTokens() {
    TokenBucket bucket = bucket(3, 0, 1000);
    bucket.reduce(3);

    // 3 tokens per second is one per 333.33 ms; three steps of 111 ms and one of 1 ms make one.
    advanceMillis(111);
    assertThat(bucket.budget()).isZero();
    advanceMillis(111);
    assertThat(bucket.budget()).isZero();
    advanceMillis(111);
    assertThat(bucket.budget()).isZero();
    advanceMillis(1);
    assertThat(bucket.budget()).isEqualTo(1);
  }

  @Test
  void oneTimeBurstSpentFirst() {
    TokenBucket bucket = bucket(100, 50, 1000);

    assertThat(bucket.reduce(30)).isTrue();
    assertThat(bucket.oneTimeBurst()).isEqualTo(20);
    assertThat(bucket.budget()).isEqualTo(100);

    assertThat(bucket.reduce(70)).isTrue();
    assertThat(bucket.oneTimeBurst()).isZero();
    assertThat(bucket.budget()).isEqualTo(50);
  }

  @Test
  void oneTimeBurstNotRefilled() {
    TokenBucket bucket = bucket(100, 50, 1000);
    bucket.reduce(150);

    advanceMillis(5_000);

    assertThat(bucket.oneTimeBurst()).isZero();
    assertThat(bucket.budget()).isEqualTo(100);
    assertThat(bucket.reduce(101)).isTrue();
  }

  @Test
  void oneTimeBurstAndBudgetTogether() {
    TokenBucket bucket = bucket(100, 50, 1000);

    assertThat(bucket.reduce(150)).isTrue();
    assertThat(bucket.reduce(1)).isFalse();
  }

  @Test
  void oversizedRequestPassesWhenNoDebt() {
    TokenBucket bucket = bucket(100, 0, 1000);

    assertThat(bucket.reduce(250)).isTrue();
    assertThat(bucket.budget()).isEqualTo(-150);
  }

  @Test
  void oversizedRequestDebtBlocksUntilRepaid() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(250);

    assertThat(bucket.reduce(1)).isFalse();
    assertThat(bucket.reduce(250)).isFalse();
    assertThat(bucket.nanosUntilAvailable(1)).isEqualTo(1510 * MILLI);
    assertThat(bucket.nanosUntilAvailable(250)).isEqualTo(1500 * MILLI);

    advanceMillis(1500);
    assertThat(bucket.budget()).isZero();
    assertThat(bucket.reduce(250)).isTrue();
  }

  @Test
  void oversizedRequestPassesFromPartlyEmptyBucket() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(90);

    assertThat(bucket.reduce(101)).isTrue();
    assertThat(bucket.budget()).isEqualTo(-91);
  }

  @Test
  void nanosUntilAvailableZeroWhenTokensExist() {
    TokenBucket bucket = bucket(100, 0, 1000);

    assertThat(bucket.nanosUntilAvailable(100)).isZero();
  }

  @Test
  void nanosUntilAvailableForMissingTokens() {
    TokenBucket bucket = bucket(100, 0, 1000);
    bucket.reduce(100);

    assertThat(bucket.nanosUntilAvailable(1)).isEqualTo(10 * MILLI);
    assertThat(bucket.nanosUntilAvailable(40)).isEqualTo(400 * MILLI);
  }

  @Test
  void nanosUntilAvailableRoundsUp() {
    TokenBucket bucket = bucket(3, 0, 1000);
    bucket.reduce(3);

    long wait = bucket.nanosUntilAvailable(1);
    assertThat(wait).isEqualTo(333_333_334L);

    clock.addAndGet(wait - 1);
    assertThat(bucket.canReduce(1)).isFalse();
    clock.addAndGet(1);
    assertThat(bucket.canReduce(1)).isTrue();
  }

  @Test
  void largeValuesDoNotOverflow() {
    TokenBucket bucket = bucket(Long.MAX_VALUE / 2, 0, 1_000_000_000L);
    bucket.reduce(Long.MAX_VALUE / 2);

    advanceMillis(1000);

    assertThat(bucket.budget()).isBetween(0L, Long.MAX_VALUE / 2);
    assertThat(bucket.nanosUntilAvailable(Long.MAX_VALUE / 2)).isPositive();
  }

  @Test
  void invalidArgumentsRejected() {
    assertThatThrownBy(() -> bucket(0, 0, 1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("size 0");
    assertThatThrownBy(() -> bucket(1, -1, 1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("one_time_burst -1");
    assertThatThrownBy(() -> bucket(1, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refill_time 0 ms");
  }
}
