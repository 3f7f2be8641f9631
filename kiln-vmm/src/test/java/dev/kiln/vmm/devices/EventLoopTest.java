package dev.kiln.vmm.devices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.sys.EventFd;
import dev.kiln.sys.SyscallException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The event loop's watch switch, which the network device uses to stop a readable TAP. */
class EventLoopTest {
  @Test
  void unwatchedDescriptorCallsNothingUntilWatchedAgain() throws Exception {
    try (EventLoop loop = new EventLoop();
        EventFd source = new EventFd()) {
      AtomicInteger calls = new AtomicInteger();
      Semaphore called = new Semaphore(0);
      // The handler does not drain the eventfd: it stays readable, like a TAP with frames queued.
      loop.register(
          source.fd(),
          () -> {
            calls.incrementAndGet();
            try {
              loop.watch(source.fd(), false);
            } catch (SyscallException e) {
              throw new IllegalStateException(e);
            }
            called.release();
          },
          false);
      assertThat(loop.watched(source.fd())).isFalse();
      loop.start();
      source.signal();
      Thread.sleep(200);
      assertThat(calls.get()).isZero();

      loop.watch(source.fd(), true);
      assertThat(called.tryAcquire(5, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(200);
      // One call: the handler stopped the watch, so the readable eventfd does not spin the loop.
      assertThat(calls.get()).isEqualTo(1);
      assertThat(loop.watched(source.fd())).isFalse();

      loop.watch(source.fd(), true);
      assertThat(called.tryAcquire(5, TimeUnit.SECONDS)).isTrue();
      assertThat(calls.get()).isEqualTo(2);
    }
  }

  @Test
  void watchingTwiceIsHarmlessAndUnknownDescriptorsRejected() throws Exception {
    try (EventLoop loop = new EventLoop();
        EventFd source = new EventFd()) {
      loop.register(source.fd(), () -> {}, true);
      loop.watch(source.fd(), true);
      loop.watch(source.fd(), false);
      loop.watch(source.fd(), false);
      assertThat(loop.watched(source.fd())).isFalse();
      assertThatThrownBy(() -> loop.watch(9999, true)).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
