package dev.kiln.vmm.devices.virtio.block;

import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.REQUEST_HEADER_SIZE;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio block request (virtio 1.2, 5.2.6) read from a descriptor chain. The device must not
 * assume how the request's bytes are split across descriptors (virtio 1.2, 2.6.4). The
 * device-readable bytes are the 16-byte header {@code le32 type, le32 reserved, le64 sector}
 * followed by the data of an OUT request. The device-writable bytes are the data of an IN or GET_ID
 * request followed by the status byte.
 *
 * @param type the request type, such as {@link VirtioBlockSpec#VIRTIO_BLK_T_IN}
 * @param sector the first 512-byte sector of a transfer
 * @param data the data buffers in order, empty for FLUSH and unknown types; each lies inside a
 *     descriptor of the chain
 * @param dataLength the total length of {@code data} in bytes
 * @param statusAddress the guest address of the status byte
 */
record BlockRequest(
    int type, long sector, List<Descriptor> data, long dataLength, long statusAddress) {

  private static final ValueLayout.OfInt U32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /**
   * Reads the request a chain carries. The chain's buffers have been checked against guest RAM.
   *
   * @throws InvalidRequestException when the chain has no status byte, a header shorter than 16
   *     bytes, or data buffers in the wrong direction for its type
   */
  static BlockRequest parse(DescriptorChain chain, GuestMemory memory)
      throws InvalidRequestException {
    List<Descriptor> readable = new ArrayList<>();
    List<Descriptor> writable = new ArrayList<>();
    for (Descriptor descriptor : chain.descriptors()) {
      if (descriptor.length() > 0) {
        (descriptor.writable() ? writable : readable).add(descriptor);
      }
    }

    if (writable.isEmpty()) {
      throw new InvalidRequestException(
          "chain " + chain.head() + " has no device-writable byte for the status",
          InvalidRequestException.NO_STATUS);
    }
    Descriptor last = writable.getLast();
    long statusAddress = last.address() + last.length() - 1;
    List<Descriptor> writableData = new ArrayList<>(writable.subList(0, writable.size() - 1));
    if (last.length() > 1) {
      writableData.add(new Descriptor(last.address(), last.length() - 1, true));
    }

    long readableLength = totalLength(readable);
    if (readableLength < REQUEST_HEADER_SIZE) {
      throw new InvalidRequestException(
          String.format(
              "chain %d: the request header is %d bytes, less than %d",
              chain.head(), readableLength, REQUEST_HEADER_SIZE),
          statusAddress);
    }
    MemorySegment header = MemorySegment.ofArray(new byte[REQUEST_HEADER_SIZE]);
    List<Descriptor> readableData = split(readable, header, memory);
    int type = header.get(U32, 0);
    long sector = header.get(U64, 8);

    List<Descriptor> data;
    switch (type) {
      case VirtioBlockSpec.VIRTIO_BLK_T_IN, VirtioBlockSpec.VIRTIO_BLK_T_GET_ID -> {
        requireEmpty(readableData, "device-readable", type, chain, statusAddress);
        data = writableData;
      }
      case VirtioBlockSpec.VIRTIO_BLK_T_OUT -> {
        requireEmpty(writableData, "device-writable", type, chain, statusAddress);
        data = readableData;
      }
      // FLUSH carries no data, so buffers beyond the header and status are ignored.
      default -> data = List.of();
    }
    return new BlockRequest(type, sector, List.copyOf(data), totalLength(data), statusAddress);
  }

  /** Copies the first bytes of {@code readable} into {@code header} and returns the rest. */
  private static List<Descriptor> split(
      List<Descriptor> readable, MemorySegment header, GuestMemory memory) {
    List<Descriptor> rest = new ArrayList<>();
    long copied = 0;
    for (Descriptor descriptor : readable) {
      long missing = header.byteSize() - copied;
      if (missing <= 0) {
        rest.add(descriptor);
        continue;
      }
      long take = Math.min(missing, descriptor.length());
      MemorySegment.copy(memory.slice(descriptor.address(), take), 0, header, copied, take);
      copied += take;
      if (take < descriptor.length()) {
        rest.add(
            new Descriptor(descriptor.address() + take, descriptor.length() - (int) take, false));
      }
    }
    return rest;
  }

  private static void requireEmpty(
      List<Descriptor> extra, String kind, int type, DescriptorChain chain, long statusAddress)
      throws InvalidRequestException {
    if (!extra.isEmpty()) {
      throw new InvalidRequestException(
          String.format(
              "chain %d: %s request has %d bytes of %s data, which this type does not take",
              chain.head(), VirtioBlockSpec.typeName(type), totalLength(extra), kind),
          statusAddress);
    }
  }

  private static long totalLength(List<Descriptor> descriptors) {
    long total = 0;
    for (Descriptor descriptor : descriptors) {
      total += descriptor.length();
    }
    return total;
  }
}
