package dev.kiln.vmm.devices.virtio.net;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A TAP in memory: frames queued for the device to read, frames the device wrote. */
final class FakeTap implements TapIo {
  final ArrayDeque<byte[]> incoming = new ArrayDeque<>();
  final List<byte[]> written = new ArrayList<>();
  final List<Integer> segmentCounts = new ArrayList<>();
  int offload = -1;
  boolean watched;
  int watchChanges;
  int reads;
  IOException readError;
  IOException writeError;
  boolean full;
  boolean closed;

  @Override
  public int read(MemorySegment buffer) throws IOException {
    reads++;
    if (readError != null) {
      throw readError;
    }
    byte[] frame = incoming.poll();
    if (frame == null) {
      return -1;
    }
    int n = (int) Math.min(frame.length, buffer.byteSize());
    MemorySegment.copy(frame, 0, buffer, ValueLayout.JAVA_BYTE, 0, n);
    return n;
  }

  @Override
  public long write(List<MemorySegment> segments) throws IOException {
    if (writeError != null) {
      throw writeError;
    }
    if (full) {
      return -1;
    }
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    for (MemorySegment segment : segments) {
      frame.writeBytes(segment.toArray(ValueLayout.JAVA_BYTE));
    }
    written.add(frame.toByteArray());
    segmentCounts.add(segments.size());
    return frame.size();
  }

  @Override
  public void setOffload(int flags) {
    offload = flags;
  }

  @Override
  public void watch(boolean watched) {
    if (this.watched != watched) {
      watchChanges++;
    }
    this.watched = watched;
  }

  @Override
  public String name() {
    return "faketap0";
  }

  @Override
  public void close() {
    closed = true;
  }
}
