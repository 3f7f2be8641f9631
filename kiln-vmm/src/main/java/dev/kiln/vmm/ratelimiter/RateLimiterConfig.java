package dev.kiln.vmm.ratelimiter;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import dev.kiln.vmm.config.ConfigException;
import java.util.function.LongSupplier;

/**
 * Firecracker's {@code RateLimiter} definition, the {@code rate_limiter} field of a drive or of the
 * entropy device: independent limits on bytes and on operations.
 *
 * @param bandwidth the bucket of bytes; no bandwidth limit when absent
 * @param ops the bucket of operations; no operation limit when absent
 */
public record RateLimiterConfig(
    @JsonProperty("bandwidth") TokenBucketConfig bandwidth,
    @JsonProperty("ops") TokenBucketConfig ops) {

  /** Returns whether either bucket limits anything. */
  public boolean limits() {
    return (bandwidth != null && bandwidth.limits()) || (ops != null && ops.limits());
  }

  /**
   * Checks both buckets.
   *
   * @param context where the limiter is, for messages, such as {@code vm.json: drive "rootfs"}
   * @param field the limiter's path, such as {@code rate_limiter} or {@code entropy.rate_limiter}
   * @throws ConfigException naming the field and the value, on the first problem found
   */
  public void validate(String context, String field) throws ConfigException {
    if (bandwidth != null) {
      bandwidth.validate(context, field + ".bandwidth");
    }
    if (ops != null) {
      ops.validate(context, field + ".ops");
    }
  }

  /**
   * Creates the limiter on the system clock with its own timerfd. Call {@link #validate} first.
   *
   * @throws SyscallException when the timerfd cannot be created
   */
  /** Gives {@code limiter} this configuration's buckets, full. */
  public void applyTo(RateLimiter limiter) {
    limiter.update(
        bandwidth == null ? null : bandwidth.toTokenBucket(System::nanoTime),
        ops == null ? null : ops.toTokenBucket(System::nanoTime));
  }

  public RateLimiter toRateLimiter() throws SyscallException {
    return toRateLimiter(System::nanoTime, new TimerFd());
  }

  /**
   * Creates the limiter on {@code nanoTime} with {@code timer}, which it then owns.
   *
   * @param nanoTime the clock in nanoseconds; it should be {@code CLOCK_MONOTONIC}, as {@code
   *     System::nanoTime} is on Linux, so that the timer's delays match it
   */
  public RateLimiter toRateLimiter(LongSupplier nanoTime, TimerFd timer) {
    TokenBucket bytes = bandwidth == null ? null : bandwidth.toTokenBucket(nanoTime);
    TokenBucket operations = ops == null ? null : ops.toTokenBucket(nanoTime);
    return new RateLimiter(bytes, operations, timer);
  }
}
