package dev.kiln.vmm.devices.virtio.balloon;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The timer behind {@code stats_polling_interval_s}: every interval it calls a request action,
 * normally {@link BalloonDevice#requestStats}, so that the guest sends fresh statistics. The VM's
 * event loop calls {@link #onTimer} when {@link #fd} becomes readable.
 */
public final class StatsPoller implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatsPoller.class);
  private static final int LOGGED_ERRORS = 10;

  private volatile long intervalNanos;
  private final Runnable request;
  private final TimerFd timer;
  private final AtomicLong errors = new AtomicLong();

  /**
   * Creates the poller with its timer disarmed.
   *
   * @param intervalSeconds the polling interval, at least 1
   * @param request called on every expiry, such as {@code balloon::requestStats}
   * @throws SyscallException naming {@code timerfd_create} when the kernel cannot create a timer
   */
  public StatsPoller(int intervalSeconds, Runnable request) throws SyscallException {
    if (intervalSeconds < 1) {
      throw new IllegalArgumentException(
          "statistics polling interval must be at least 1 second: " + intervalSeconds);
    }
    this.intervalNanos = TimeUnit.SECONDS.toNanos(intervalSeconds);
    this.request = request;
    this.timer = new TimerFd();
  }

  /** Returns the timer's file descriptor, for registration with the event loop. */
  public int fd() {
    return timer.fd();
  }

  /**
   * Arms the timer for the first interval.
   *
   * @throws SyscallException naming {@code timerfd_settime} when the call fails
   */
  public void start() throws SyscallException {
    timer.arm(intervalNanos);
  }

  /**
   * Reads the expiry, calls the request action and arms the timer for the next interval. A failed
   * timer call is logged with a repeat limit; polling stops if the timer cannot be armed again.
   */
  public void onTimer() {
    try {
      timer.drain();
      request.run();
      timer.arm(intervalNanos);
    } catch (SyscallException e) {
      long count = errors.incrementAndGet();
      if (count <= LOGGED_ERRORS) {
        LOG.warn(
            "virtio-balloon: statistics timer failed ({} so far{}): {}",
            count,
            count == LOGGED_ERRORS ? "; later ones are counted, not logged" : "",
            e.getMessage());
      }
    }
  }

  /**
   * Changes the polling interval and restarts the timer with it.
   *
   * @param intervalSeconds the new interval, at least 1
   * @throws SyscallException naming {@code timerfd_settime} when the call fails
   */
  public void setInterval(int intervalSeconds) throws SyscallException {
    if (intervalSeconds < 1) {
      throw new IllegalArgumentException(
          "statistics polling interval must be at least 1 second: " + intervalSeconds);
    }
    intervalNanos = TimeUnit.SECONDS.toNanos(intervalSeconds);
    timer.arm(intervalNanos);
  }

  /** Closes the timer. */
  @Override
  public void close() throws SyscallException {
    timer.close();
  }
}
