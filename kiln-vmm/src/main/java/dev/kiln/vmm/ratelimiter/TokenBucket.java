package dev.kiln.vmm.ratelimiter;

import java.math.BigInteger;
import java.util.function.LongSupplier;

/**
 * A token bucket with Firecracker's {@code TokenBucket} semantics: it holds up to {@code size}
 * tokens and starts full, refills at {@code size} tokens per refill time in proportion to the time
 * that passed, and has a one-time burst of extra tokens that are spent first and never refilled.
 *
 * <p>A request for more tokens than {@code size} could never fit, so the bucket lets it through
 * while it owes nothing, spending what it has and recording the rest as a debt. Until the refill
 * pays the debt back, nothing else passes, so the average rate still holds. Firecracker (its {@code
 * BucketReduction::OverConsumption}) likewise lets such a request through and blocks the limiter
 * for the time the excess takes to refill.
 *
 * <p>NOTE: after that block, Firecracker also credits the refill that happened during it, while
 * this bucket starts again from empty, so Kiln is slightly stricter after an oversized request.
 *
 * <p>Not thread-safe: {@link RateLimiter} guards its buckets.
 */
public final class TokenBucket {
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private final long size;
  private final long refillNanos;
  private final LongSupplier nanoTime;
  private long oneTimeBurst;

  /** Tokens in the bucket; negative while an oversized request's debt is being paid back. */
  private long budget;

  private long lastRefill;

  /** The part of a token earned since the last refill, in units of 1/refillNanos token. */
  private long refillRemainder;

  /**
   * Creates a full bucket.
   *
   * @param size the bucket's capacity in tokens (bytes or operations), at least 1
   * @param oneTimeBurst extra tokens available once, spent before the bucket's own, at least 0
   * @param refillTimeMillis the milliseconds it takes to refill {@code size} tokens from empty, at
   *     least 1
   * @param nanoTime the clock in nanoseconds, {@code System::nanoTime} outside tests
   * @throws IllegalArgumentException for a value out of range; {@link RateLimiterConfig} checks
   *     configured values first
   */
  public TokenBucket(long size, long oneTimeBurst, long refillTimeMillis, LongSupplier nanoTime) {
    if (size < 1 || oneTimeBurst < 0 || refillTimeMillis < 1) {
      throw new IllegalArgumentException(
          String.format(
              "invalid token bucket: size %d, one_time_burst %d, refill_time %d ms; size and"
                  + " refill_time must be at least 1 and one_time_burst at least 0",
              size, oneTimeBurst, refillTimeMillis));
    }
    this.size = size;
    this.oneTimeBurst = oneTimeBurst;
    this.refillNanos = Math.multiplyExact(refillTimeMillis, NANOS_PER_MILLI);
    this.nanoTime = nanoTime;
    this.budget = size;
    this.lastRefill = nanoTime.getAsLong();
  }

  /** Returns the bucket's capacity in tokens. */
  public long size() {
    return size;
  }

  /** Returns the one-time burst tokens not yet spent. */
  public long oneTimeBurst() {
    return oneTimeBurst;
  }

  /**
   * Refills the bucket for the time passed and returns its tokens, not counting the one-time burst.
   * The value is negative while the debt of an oversized request is unpaid.
   */
  public long budget() {
    refill();
    return budget;
  }

  /** Returns whether {@link #reduce} would take {@code tokens} now. */
  public boolean canReduce(long tokens) {
    refill();
    return fits(tokens);
  }

  /**
   * Takes {@code tokens} if the bucket has them, spending the one-time burst first.
   *
   * @param tokens the tokens to take, at least 0
   * @return true when the tokens were taken, false when the bucket is left unchanged
   */
  public boolean reduce(long tokens) {
    refill();
    if (!fits(tokens)) {
      return false;
    }
    long fromBurst = Math.min(oneTimeBurst, tokens);
    oneTimeBurst -= fromBurst;
    // Only an oversized request takes the budget below zero, and fits() lets one through only
    // while the budget is not negative, so this cannot overflow.
    budget -= tokens - fromBurst;
    return true;
  }

  /**
   * Returns the nanoseconds until {@link #reduce} can take {@code tokens}, 0 when it can now. The
   * value assumes nothing else takes tokens in the meantime.
   */
  public long nanosUntilAvailable(long tokens) {
    refill();
    if (fits(tokens)) {
      return 0;
    }
    long needed = oversized(tokens) ? 0 : tokens - oneTimeBurst;
    long missing = needed - budget;
    // refill() adds a token for every refillNanos / size nanoseconds, counting the remainder it
    // carries, so the wait is ceil((missing * refillNanos - remainder) / size).
    BigInteger credit =
        BigInteger.valueOf(missing)
            .multiply(BigInteger.valueOf(refillNanos))
            .subtract(BigInteger.valueOf(refillRemainder));
    BigInteger[] quotient = credit.divideAndRemainder(BigInteger.valueOf(size));
    BigInteger nanos = quotient[0];
    if (quotient[1].signum() > 0) {
      nanos = nanos.add(BigInteger.ONE);
    }
    return nanos.bitLength() < Long.SIZE ? nanos.longValue() : Long.MAX_VALUE;
  }

  private boolean fits(long tokens) {
    if (tokens <= oneTimeBurst || tokens - oneTimeBurst <= budget) {
      return true;
    }
    return oversized(tokens) && budget >= 0;
  }

  /** Returns whether {@code tokens} are more than a full bucket and the burst left can hold. */
  private boolean oversized(long tokens) {
    return tokens - oneTimeBurst > size;
  }

  /** Adds the tokens earned since the last refill, keeping the fraction of a token for later. */
  private void refill() {
    long now = nanoTime.getAsLong();
    long elapsed = now - lastRefill;
    if (elapsed <= 0) {
      return;
    }
    lastRefill = now;
    if (budget >= size) {
      refillRemainder = 0;
      return;
    }
    long earned;
    long remainder;
    try {
      long credit = Math.addExact(Math.multiplyExact(elapsed, size), refillRemainder);
      earned = credit / refillNanos;
      remainder = credit % refillNanos;
    } catch (ArithmeticException e) {
      BigInteger[] split =
          BigInteger.valueOf(elapsed)
              .multiply(BigInteger.valueOf(size))
              .add(BigInteger.valueOf(refillRemainder))
              .divideAndRemainder(BigInteger.valueOf(refillNanos));
      earned = split[0].bitLength() < Long.SIZE ? split[0].longValue() : Long.MAX_VALUE;
      remainder = split[1].longValue();
    }
    if (earned >= size - budget) {
      budget = size;
      refillRemainder = 0;
    } else {
      budget += earned;
      refillRemainder = remainder;
    }
  }

  @Override
  public String toString() {
    return String.format(
        "TokenBucket[size=%d, budget=%d, oneTimeBurst=%d, refillNanos=%d]",
        size, budget, oneTimeBurst, refillNanos);
  }
}
