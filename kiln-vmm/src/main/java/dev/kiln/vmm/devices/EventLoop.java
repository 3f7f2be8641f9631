package dev.kiln.vmm.devices;

import dev.kiln.sys.Epoll;
import dev.kiln.sys.EventFd;
import dev.kiln.sys.SyscallException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device thread: an epoll loop over eventfds (queue notifications from KVM's ioeventfds) and
 * other descriptors, calling each one's handler when it is readable. Device work runs here, never
 * on a vCPU thread. A handler that throws is logged with a repeat limit and the loop goes on.
 */
public final class EventLoop implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);
  private static final int LOGGED_FAILURES = 10;
  private static final long STOP_TOKEN = -1;
  private static final long PAUSE_TOKEN = -2;

  private final Epoll epoll;
  private final EventFd stop;
  private final EventFd pauseSignal;
  private final Object pauseLock = new Object();
  private boolean pauseRequested; // guarded by pauseLock
  private boolean parked; // guarded by pauseLock
  private final Map<Long, IntConsumer> handlers = new ConcurrentHashMap<>();
  private final Map<Integer, Long> tokensByFd = new ConcurrentHashMap<>();
  private final Map<Integer, Boolean> watching = new ConcurrentHashMap<>();
  private final AtomicLong nextToken = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile boolean running;
  private Thread thread;

  /** Creates the loop; call {@link #start} after registering the first descriptors. */
  public EventLoop() throws SyscallException {
    this.epoll = new Epoll();
    this.stop = new EventFd();
    epoll.add(stop.fd(), Epoll.EPOLLIN, STOP_TOKEN);
    this.pauseSignal = new EventFd();
    epoll.add(pauseSignal.fd(), Epoll.EPOLLIN, PAUSE_TOKEN);
  }

  /**
   * Makes the loop thread stop calling handlers until {@link #resume}, and waits up to {@code
   * millis} for it to get there. Events that arrive meanwhile wait in epoll.
   *
   * @return true when the loop is parked (or not running)
   */
  public boolean pause(long millis) throws SyscallException, InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    synchronized (pauseLock) {
      pauseRequested = true;
      pauseSignal.signal();
      while (!parked && running) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          return false;
        }
        pauseLock.wait(left);
      }
      return true;
    }
  }

  /** Lets a paused loop call handlers again. */
  public void resume() {
    synchronized (pauseLock) {
      pauseRequested = false;
      pauseLock.notifyAll();
    }
  }

  private void park() {
    try {
      pauseSignal.drain();
    } catch (SyscallException e) {
      LOG.warn("Draining the pause signal failed: {}", e.getMessage());
    }
    synchronized (pauseLock) {
      parked = true;
      pauseLock.notifyAll();
      try {
        while (pauseRequested && running) {
          pauseLock.wait();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        parked = false;
      }
    }
  }

  /**
   * Calls {@code handler} on the loop thread whenever {@code fd} becomes readable. The handler must
   * drain the descriptor (an eventfd's counter, a socket's data), since epoll here is
   * level-triggered.
   */
  public void register(int fd, Runnable handler) throws SyscallException {
    register(fd, Epoll.EPOLLIN, events -> handler.run());
  }

  /**
   * Calls {@code handler} with the ready events ({@link Epoll#EPOLLIN}, {@link Epoll#EPOLLOUT},
   * {@link Epoll#EPOLLHUP}, {@link Epoll#EPOLLERR}) whenever {@code fd} has one of {@code
   * interest}, until {@link #unregister}. Epoll is level-triggered: the handler must drain the
   * descriptor or change its interest.
   */
  public void register(int fd, int interest, IntConsumer handler) throws SyscallException {
    long token = nextToken.getAndIncrement();
    handlers.put(token, handler);
    tokensByFd.put(fd, token);
    try {
      epoll.add(fd, interest, token);
    } catch (SyscallException e) {
      handlers.remove(token);
      tokensByFd.remove(fd);
      throw e;
    }
  }

  /** Changes the events a descriptor registered with {@link #register} waits for. */
  public void modify(int fd, int interest) throws SyscallException {
    Long token = tokensByFd.get(fd);
    if (token == null) {
      throw new IllegalArgumentException("fd " + fd + " is not registered with the event loop");
    }
    epoll.modify(fd, interest, token);
  }

  /**
   * Removes a descriptor before it is closed; a ready event already collected for it is dropped.
   */
  public void unregister(int fd) throws SyscallException {
    Long token = tokensByFd.remove(fd);
    if (token != null) {
      handlers.remove(token);
      // A descriptor registered unwatched (register(fd, handler, false)) is not in epoll.
      if (!Boolean.FALSE.equals(watching.remove(fd))) {
        epoll.remove(fd);
      }
    }
  }

  /**
   * Registers {@code handler} for {@code fd} like {@link #register(int, Runnable)}, but with the
   * descriptor watched only when {@code watched}; {@link #watch} changes that later.
   */
  public void register(int fd, Runnable handler, boolean watched) throws SyscallException {
    long token = nextToken.getAndIncrement();
    handlers.put(token, events -> handler.run());
    tokensByFd.put(fd, token);
    watching.put(fd, false);
    if (watched) {
      watch(fd, true);
    }
  }

  /**
   * Starts or stops watching a registered descriptor, keeping its handler. A device stops watching
   * a level-triggered source, such as a TAP with frames queued, while it cannot take what the
   * source has, so that the loop does not spin on it. Calling it with the current state does
   * nothing; any thread may call it.
   *
   * @throws IllegalArgumentException when {@code fd} was never registered
   */
  public synchronized void watch(int fd, boolean watched) throws SyscallException {
    Long token = tokensByFd.get(fd);
    if (token == null) {
      throw new IllegalArgumentException("descriptor " + fd + " is not registered");
    }
    if (watching.get(fd) == watched) {
      return;
    }
    if (watched) {
      epoll.add(fd, Epoll.EPOLLIN, token);
    } else {
      epoll.remove(fd);
    }
    watching.put(fd, watched);
  }

  /** Returns whether a registered descriptor is watched now. */
  public boolean watched(int fd) {
    return Boolean.TRUE.equals(watching.get(fd));
  }

  /** Registers an eventfd whose every signal calls {@code handler}; the loop drains the eventfd. */
  public void register(EventFd eventFd, Runnable handler) throws SyscallException {
    register(
        eventFd.fd(),
        () -> {
          try {
            eventFd.drain();
          } catch (SyscallException e) {
            throw new IllegalStateException(e);
          }
          handler.run();
        });
  }

  /** Starts the loop thread. */
  public void start() {
    running = true;
    thread = Thread.ofPlatform().name("kiln_devices").daemon().start(this::loop);
  }

  private void loop() {
    try {
      while (running) {
        epoll.await(-1, this::dispatch);
      }
    } catch (SyscallException e) {
      LOG.error("The device event loop failed: {}", e.getMessage());
    }
  }

  private void dispatch(Epoll.Ready ready) {
    if (ready.token() == STOP_TOKEN) {
      running = false;
      return;
    }
    if (ready.token() == PAUSE_TOKEN) {
      park();
      return;
    }
    IntConsumer handler = handlers.get(ready.token());
    if (handler == null) {
      return;
    }
    try {
      handler.accept(ready.events());
    } catch (RuntimeException e) {
      long count = failures.incrementAndGet();
      if (count <= LOGGED_FAILURES) {
        LOG.error("A device handler failed ({} so far): {}", count, e.toString(), e);
      }
    }
  }

  /** Returns how many handler calls threw. */
  public long failures() {
    return failures.get();
  }

  /** Stops the loop thread and waits up to a second for it. */
  @Override
  public void close() throws SyscallException {
    running = false;
    synchronized (pauseLock) {
      pauseLock.notifyAll();
    }
    stop.signal();
    if (thread != null) {
      try {
        thread.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    epoll.close();
    stop.close();
    pauseSignal.close();
  }
}
