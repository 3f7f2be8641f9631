package dev.kiln.vmm.ratelimiter;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.kiln.vmm.config.ConfigException;
import java.util.function.LongSupplier;

/**
 * Firecracker's {@code TokenBucket} definition: one dimension of a {@code rate_limiter}. A bucket
 * whose {@code size} or {@code refill_time} is 0 limits nothing, as in Firecracker.
 *
 * @param size the bucket's capacity in tokens (bytes or operations); required
 * @param oneTimeBurst extra tokens available once at the start and never refilled; 0 when absent
 * @param refillTime the milliseconds it takes to refill {@code size} tokens from empty; required
 */
public record TokenBucketConfig(
    @JsonProperty("size") Long size,
    @JsonProperty("one_time_burst") Long oneTimeBurst,
    @JsonProperty("refill_time") Long refillTime) {

  /** The longest {@code refill_time} whose value in nanoseconds fits in a 64-bit signed integer. */
  static final long MAX_REFILL_TIME_MILLIS = Long.MAX_VALUE / 1_000_000L;

  /** Returns {@code one_time_burst}, 0 when absent. */
  public long oneTimeBurstSetting() {
    return oneTimeBurst == null ? 0 : oneTimeBurst;
  }

  /** Returns whether the bucket limits anything: both {@code size} and {@code refill_time} > 0. */
  public boolean limits() {
    return size != null && size > 0 && refillTime != null && refillTime > 0;
  }

  /**
   * Checks the required fields and the ranges.
   *
   * @param context where the bucket is, for messages, such as {@code vm.json: drive "rootfs"}
   * @param field the bucket's path, such as {@code rate_limiter.ops}
   * @throws ConfigException naming the field and the value, on the first problem found
   */
  public void validate(String context, String field) throws ConfigException {
    if (size == null) {
      throw new ConfigException(
          String.format(
              "%s: missing `%s.size`; give the bucket's capacity in tokens (0 for no limit)",
              context, field));
    }
    if (refillTime == null) {
      throw new ConfigException(
          String.format(
              "%s: missing `%s.refill_time`; give the milliseconds to refill the bucket (0 for no"
                  + " limit)",
              context, field));
    }
    requireNonNegative(context, field + ".size", size);
    requireNonNegative(context, field + ".one_time_burst", oneTimeBurstSetting());
    requireNonNegative(context, field + ".refill_time", refillTime);
    if (refillTime > MAX_REFILL_TIME_MILLIS) {
      throw new ConfigException(
          String.format(
              "%s: `%s.refill_time` is %d ms, more than the maximum %d ms; use a smaller value",
              context, field, refillTime, MAX_REFILL_TIME_MILLIS));
    }
  }

  private static void requireNonNegative(String context, String field, long value)
      throws ConfigException {
    if (value < 0) {
      throw new ConfigException(
          String.format("%s: `%s` is %d; use 0 or a positive number", context, field, value));
    }
  }

  /**
   * Creates the bucket, or returns null when this configuration limits nothing. Call {@link
   * #validate} first.
   *
   * @param nanoTime the clock in nanoseconds, {@code System::nanoTime} outside tests
   */
  public TokenBucket toTokenBucket(LongSupplier nanoTime) {
    if (!limits()) {
      return null;
    }
    return new TokenBucket(size, oneTimeBurstSetting(), refillTime, nanoTime);
  }
}
