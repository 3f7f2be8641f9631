package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The balloon's latest statistics, as the guest reported them ({@code GET /balloon/statistics}).
 * Fields the guest did not report are {@code null}.
 *
 * @param targetPages target number of pages the device aims to hold
 * @param actualPages number of pages in the balloon
 * @param targetMib target amount of memory in MiB the device aims to hold
 * @param actualMib amount of memory in MiB the device holds
 * @param swapIn bytes of memory swapped in
 * @param swapOut bytes of memory swapped out
 * @param majorFaults number of major page faults
 * @param minorFaults number of minor page faults
 * @param freeMemory bytes of memory not in use
 * @param totalMemory bytes of memory in the guest
 * @param availableMemory estimated bytes available to new applications without swapping
 * @param diskCaches bytes of page cache that can be reclaimed without I/O
 * @param hugetlbAllocations number of successful hugetlb page allocations
 * @param hugetlbFailures number of failed hugetlb page allocations
 * @param oomKill number of OOM killer invocations
 * @param allocStall number of allocations that entered the slow path
 * @param asyncScan memory scanned asynchronously
 * @param directScan memory scanned directly
 * @param asyncReclaim memory reclaimed asynchronously
 * @param directReclaim memory reclaimed directly
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BalloonStats(
    @JsonProperty("target_pages") Long targetPages,
    @JsonProperty("actual_pages") Long actualPages,
    @JsonProperty("target_mib") Long targetMib,
    @JsonProperty("actual_mib") Long actualMib,
    @JsonProperty("swap_in") Long swapIn,
    @JsonProperty("swap_out") Long swapOut,
    @JsonProperty("major_faults") Long majorFaults,
    @JsonProperty("minor_faults") Long minorFaults,
    @JsonProperty("free_memory") Long freeMemory,
    @JsonProperty("total_memory") Long totalMemory,
    @JsonProperty("available_memory") Long availableMemory,
    @JsonProperty("disk_caches") Long diskCaches,
    @JsonProperty("hugetlb_allocations") Long hugetlbAllocations,
    @JsonProperty("hugetlb_failures") Long hugetlbFailures,
    @JsonProperty("oom_kill") Long oomKill,
    @JsonProperty("alloc_stall") Long allocStall,
    @JsonProperty("async_scan") Long asyncScan,
    @JsonProperty("direct_scan") Long directScan,
    @JsonProperty("async_reclaim") Long asyncReclaim,
    @JsonProperty("direct_reclaim") Long directReclaim) {}
