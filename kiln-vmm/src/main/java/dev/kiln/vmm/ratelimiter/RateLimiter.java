package dev.kiln.vmm.ratelimiter;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import java.io.UncheckedIOException;

/**
 * An I/O rate limiter with Firecracker's {@code RateLimiter} semantics: a bandwidth bucket of bytes
 * and an ops bucket of operations, each optional. A request passes only when both buckets have its
 * tokens. When one lacks them, the limiter becomes blocked and arms its {@link TimerFd} for the
 * time until the missing tokens are refilled. While blocked it lets nothing through. The device
 * registers {@link #timerFd()} with its event loop and, when it fires, calls {@link #onTimer} and
 * handles its queue again.
 *
 * <p>Firecracker re-checks a blocked limiter after a fixed 100 ms. Kiln computes the wait from the
 * refill rate instead, so a throttled queue resumes as soon as the tokens exist.
 */
public final class RateLimiter implements AutoCloseable {
  private TokenBucket bandwidth; // guarded by this
  private TokenBucket ops; // guarded by this
  private final TimerFd timer;
  private boolean blocked;
  private long timerDelayNanos;

  /**
   * Creates a limiter with its own timer.
   *
   * @param bandwidth the bucket of bytes, or null for no bandwidth limit
   * @param ops the bucket of operations, or null for no operation limit
   * @throws SyscallException when the timerfd cannot be created
   */
  public RateLimiter(TokenBucket bandwidth, TokenBucket ops) throws SyscallException {
    this(bandwidth, ops, new TimerFd());
  }

  /**
   * Creates a limiter that arms {@code timer}; the limiter closes it.
   *
   * @param bandwidth the bucket of bytes, or null for no bandwidth limit
   * @param ops the bucket of operations, or null for no operation limit
   */
  public RateLimiter(TokenBucket bandwidth, TokenBucket ops, TimerFd timer) {
    this.bandwidth = bandwidth;
    this.ops = ops;
    this.timer = timer;
  }

  /**
   * Replaces the buckets, as an API update of a running device's limiter does. The new buckets
   * start full, as Firecracker's do; a request held back by the old ones is tried again at the next
   * timer expiry or queue notification.
   *
   * @param bandwidth the new bucket of bytes, or null for no bandwidth limit
   * @param ops the new bucket of operations, or null for no operation limit
   */
  public synchronized void update(TokenBucket bandwidth, TokenBucket ops) {
    this.bandwidth = bandwidth;
    this.ops = ops;
  }

  /** Returns the bandwidth bucket, or null when bytes are not limited. */
  public synchronized TokenBucket bandwidth() {
    return bandwidth;
  }

  /** Returns the ops bucket, or null when operations are not limited. */
  public synchronized TokenBucket ops() {
    return ops;
  }

  /** Returns the timer's descriptor, to register with the device's event loop. */
  public int timerFd() {
    return timer.fd();
  }

  /**
   * Takes one operation and {@code bytes} bytes, both or neither. When either bucket lacks its
   * tokens, or the limiter is already blocked, nothing is taken, and the limiter stays or becomes
   * blocked with its timer armed.
   *
   * @param bytes the request's data length; 0 for a request that moves no data
   * @return true when the request may go ahead
   * @throws UncheckedIOException when arming the timer fails, a host error after which the caller
   *     cannot know when to try again
   */
  public synchronized boolean consume(long bytes) {
    if (blocked) {
      return false;
    }
    boolean opsFit = ops == null || ops.canReduce(1);
    boolean bytesFit = bandwidth == null || bandwidth.canReduce(bytes);
    if (opsFit && bytesFit) {
      if (ops != null) {
        ops.reduce(1);
      }
      if (bandwidth != null) {
        bandwidth.reduce(bytes);
      }
      return true;
    }
    long wait = 0;
    if (ops != null) {
      wait = ops.nanosUntilAvailable(1);
    }
    if (bandwidth != null) {
      wait = Math.max(wait, bandwidth.nanosUntilAvailable(bytes));
    }
    try {
      timer.arm(wait);
    } catch (SyscallException e) {
      throw new UncheckedIOException(
          "cannot arm the rate limiter's timer for " + wait + " ns: " + e.getMessage(), e);
    }
    blocked = true;
    timerDelayNanos = wait;
    return false;
  }

  /** Returns whether the limiter waits for its timer and lets no request through until then. */
  public synchronized boolean blocked() {
    return blocked;
  }

  /** Returns the delay in nanoseconds that the timer was last armed with, 0 before the first. */
  public synchronized long timerDelayNanos() {
    return timerDelayNanos;
  }

  /**
   * Drains the timer and unblocks the limiter; the caller then retries its queued requests. Call it
   * when {@link #timerFd()} becomes readable.
   *
   * @throws UncheckedIOException when reading the timerfd fails
   */
  public synchronized void onTimer() {
    try {
      timer.drain();
    } catch (SyscallException e) {
      throw new UncheckedIOException("cannot read the rate limiter's timer: " + e.getMessage(), e);
    }
    blocked = false;
  }

  /** Closes the timer. */
  @Override
  public void close() throws SyscallException {
    timer.close();
  }
}
