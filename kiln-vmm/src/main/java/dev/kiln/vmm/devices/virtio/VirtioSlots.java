package dev.kiln.vmm.devices.virtio;

import dev.kiln.kvm.VmFd;
import dev.kiln.sys.EventFd;
import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.acpi.VirtioMmioResource;
import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.devices.Bus;
import dev.kiln.vmm.devices.EventLoop;
import dev.kiln.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Places virtio-mmio devices on the machine: each gets the next 4 KiB MMIO slot after the
 * boot-timer slot and the next IOAPIC pin from {@link #FIRST_IRQ}, an irqfd for its interrupt and
 * one ioeventfd per queue feeding the event loop. Linux finds them in the DSDT, or with ACPI off
 * through {@code virtio_mmio.device=<size>@<base>:<irq>} on its command line ({@link
 * #kernelArguments}).
 */
public final class VirtioSlots implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VirtioSlots.class);

  /** The first IOAPIC pin given to virtio devices; lower pins belong to legacy devices. */
  public static final int FIRST_IRQ = 5;

  /** The number of pins left for virtio devices. */
  public static final int MAX_DEVICES = Layout.IOAPIC_PINS - FIRST_IRQ;

  /** One placed device. */
  public record Slot(String name, long address, int irq, MmioTransport transport) {}

  private final List<Slot> slots = new ArrayList<>();
  private final List<EventFd> eventFds = new ArrayList<>();

  /** Returns the MMIO address of the slot at {@code index}. */
  public static long address(int index) {
    return Layout.MMIO_START + Layout.MMIO_SLOT_SIZE * (index + 1);
  }

  /**
   * Returns the resources of {@code count} devices placed in order, for the DSDT: each slot's MMIO
   * window and IOAPIC pin.
   */
  public static List<VirtioMmioResource> resources(int count) {
    List<VirtioMmioResource> resources = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      resources.add(new VirtioMmioResource(address(i), Layout.MMIO_SLOT_SIZE, FIRST_IRQ + i));
    }
    return resources;
  }

  /** Returns the kernel parameters that declare {@code count} devices placed in order. */
  public static String kernelArguments(int count) {
    StringBuilder args = new StringBuilder();
    for (int i = 0; i < count; i++) {
      args.append(String.format(" virtio_mmio.device=4K@0x%x:%d", address(i), FIRST_IRQ + i));
    }
    return args.toString();
  }

  /**
   * Places a device in the next slot.
   *
   * @param factory makes the device from a callback that marks it as needing a reset
   * @throws IllegalStateException when all slots are taken
   */
  public Slot attach(
      String name,
      Function<Runnable, VirtioDevice> factory,
      VmFd vm,
      Bus mmio,
      GuestMemory memory,
      EventLoop loop)
      throws SyscallException {
    int index = slots.size();
    if (index >= MAX_DEVICES) {
      throw new IllegalStateException(
          "at most " + MAX_DEVICES + " virtio devices fit on the IOAPIC; " + name + " is one more");
    }
    long address = address(index);
    int irq = FIRST_IRQ + index;
    EventFd interrupt = track(new EventFd());
    vm.registerIrqfd(interrupt.fd(), irq);

    AtomicReference<MmioTransport> transportRef = new AtomicReference<>();
    VirtioDevice device = factory.apply(() -> transportRef.get().fail("the device gave up"));
    List<EventFd> queueEvents = new ArrayList<>();
    for (int q = 0; q < device.queues().size(); q++) {
      EventFd queueEvent = track(new EventFd());
      queueEvents.add(queueEvent);
      vm.registerIoeventfd(
          queueEvent.fd(), address + MmioTransport.QUEUE_NOTIFY, 4, (long) q, false);
      int queueIndex = q;
      loop.register(queueEvent, () -> device.processQueue(queueIndex));
    }
    MmioTransport transport =
        new MmioTransport(
            name,
            device,
            memory,
            () -> {
              try {
                interrupt.signal();
              } catch (SyscallException e) {
                LOG.warn("virtio {}: interrupt failed: {}", name, e.getMessage());
              }
            },
            queue -> {
              if (queue >= 0 && queue < queueEvents.size()) {
                try {
                  queueEvents.get(queue).signal();
                } catch (SyscallException e) {
                  LOG.warn("virtio {}: notification failed: {}", name, e.getMessage());
                }
              }
            });
    transportRef.set(transport);
    mmio.attach(address, Layout.MMIO_SLOT_SIZE, transport);
    Slot slot = new Slot(name, address, irq, transport);
    slots.add(slot);
    LOG.info("virtio {} at {} IRQ {}", name, "0x" + Long.toHexString(address), irq);
    return slot;
  }

  private EventFd track(EventFd fd) {
    eventFds.add(fd);
    return fd;
  }

  /**
   * Tells the driver of {@code device} that its configuration space changed, with a
   * configuration-change interrupt (virtio 1.2, 4.2.2.1).
   */
  public void configChanged(VirtioDevice device) {
    for (Slot slot : slots) {
      if (slot.transport().device() == device) {
        slot.transport().configChanged();
      }
    }
  }

  /** Returns the placed devices in slot order. */
  public List<Slot> slots() {
    return List.copyOf(slots);
  }

  @Override
  public void close() throws SyscallException {
    for (EventFd fd : eventFds) {
      fd.close();
    }
  }
}
