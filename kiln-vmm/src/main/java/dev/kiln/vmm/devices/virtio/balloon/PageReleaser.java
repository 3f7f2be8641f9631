package dev.kiln.vmm.devices.virtio.balloon;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.vmm.memory.GuestMemory;

/**
 * Gives guest pages back to the host with {@code madvise(MADV_DONTNEED)}, one call per run of
 * contiguous page frame numbers inside one region of guest RAM. On Kiln's private anonymous guest
 * memory the host frees the pages, and the guest reads zeros if it touches them again.
 *
 * <p>Feed the page frame numbers of one request to {@link #add} in order, then call {@link
 * #finish}. Page frame numbers outside guest RAM are skipped and counted. A failed {@code madvise}
 * is counted and its first error kept; the pages then stay with the guest.
 */
final class PageReleaser {
  private final GuestMemory memory;
  private long runStart = -1;
  private long runPages;
  private long releasedPages;
  private long skippedPages;
  private long failedPages;
  private SyscallException firstError;

  PageReleaser(GuestMemory memory) {
    this.memory = memory;
  }

  /**
   * Adds one page to the pending run, or releases the run and starts a new one when the page does
   * not extend it.
   *
   * @param pfn the page frame number in 4 KiB pages, an unsigned 32-bit value from the guest
   * @return false when the page lies outside guest RAM and was skipped
   */
  boolean add(long pfn) {
    long address = pfn << VirtioBalloonSpec.PFN_SHIFT;
    if (!memory.contains(address, VirtioBalloonSpec.PAGE_SIZE)) {
      skippedPages++;
      return false;
    }
    // A run may only grow while it stays inside one region, because one madvise covers one
    // host mapping.
    boolean extendsRun =
        runStart >= 0
            && pfn == runStart + runPages
            && memory.contains(
                runStart << VirtioBalloonSpec.PFN_SHIFT,
                (runPages + 1) * VirtioBalloonSpec.PAGE_SIZE);
    if (extendsRun) {
      runPages++;
      return true;
    }
    finish();
    runStart = pfn;
    runPages = 1;
    return true;
  }

  /** Releases the pending run, if any. */
  void finish() {
    if (runStart < 0) {
      return;
    }
    long address = runStart << VirtioBalloonSpec.PFN_SHIFT;
    long length = runPages * VirtioBalloonSpec.PAGE_SIZE;
    try {
      Syscalls.madvise(memory.slice(address, length), Syscalls.MADV_DONTNEED);
      releasedPages += runPages;
    } catch (SyscallException e) {
      failedPages += runPages;
      if (firstError == null) {
        firstError = e;
      }
    }
    runStart = -1;
    runPages = 0;
  }

  /** Returns the pages given back to the host so far. */
  long releasedPages() {
    return releasedPages;
  }

  /** Returns the page frame numbers skipped because they lie outside guest RAM. */
  long skippedPages() {
    return skippedPages;
  }

  /** Returns the pages whose {@code madvise} failed. */
  long failedPages() {
    return failedPages;
  }

  /** Returns the first {@code madvise} failure, or null when every call succeeded. */
  SyscallException firstError() {
    return firstError;
  }
}
