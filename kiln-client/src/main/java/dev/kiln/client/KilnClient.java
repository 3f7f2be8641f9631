package dev.kiln.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.client.model.Balloon;
import dev.kiln.client.model.BalloonHintingStatus;
import dev.kiln.client.model.BalloonStartCmd;
import dev.kiln.client.model.BalloonStats;
import dev.kiln.client.model.BalloonStatsUpdate;
import dev.kiln.client.model.BalloonUpdate;
import dev.kiln.client.model.BootSource;
import dev.kiln.client.model.CpuConfig;
import dev.kiln.client.model.Drive;
import dev.kiln.client.model.EntropyDevice;
import dev.kiln.client.model.FirecrackerVersion;
import dev.kiln.client.model.FullVmConfiguration;
import dev.kiln.client.model.InstanceActionInfo;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.Logger;
import dev.kiln.client.model.MachineConfiguration;
import dev.kiln.client.model.MemoryHotplugConfig;
import dev.kiln.client.model.MemoryHotplugSizeUpdate;
import dev.kiln.client.model.MemoryHotplugStatus;
import dev.kiln.client.model.Metrics;
import dev.kiln.client.model.MmdsConfig;
import dev.kiln.client.model.NetworkInterface;
import dev.kiln.client.model.PartialDrive;
import dev.kiln.client.model.PartialNetworkInterface;
import dev.kiln.client.model.PartialPmem;
import dev.kiln.client.model.Pmem;
import dev.kiln.client.model.SerialDevice;
import dev.kiln.client.model.SnapshotCreateParams;
import dev.kiln.client.model.SnapshotLoadParams;
import dev.kiln.client.model.Vm;
import dev.kiln.client.model.Vsock;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A client for the Firecracker REST API that Kiln and Firecracker serve on the Unix socket given by
 * {@code --api-sock}.
 *
 * <p>There is one method per API operation, named by the operation's {@code operationId} in
 * Firecracker's swagger document. Changes return when the server responds with {@code 204 No
 * Content}; reads return the decoded {@code 200} body. Every method throws {@link KilnApiException}
 * when the server responds with an error status, {@link SocketTimeoutException} when the exchange
 * takes longer than {@link #timeout()}, and {@link IOException} when the socket fails.
 *
 * <p>The client keeps one connection open between calls and serializes calls, so threads may share
 * it. It connects on the first call, and reconnects after the server closed the connection.
 */
public final class KilnClient implements AutoCloseable {
  /** Time allowed for one call when the constructor is given none. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private static final Duration SOCKET_POLL_INTERVAL = Duration.ofMillis(20);

  private final Path socketPath;
  private final Duration timeout;
  private final ObjectMapper mapper;
  private final UnixHttpConnection connection;

  /** Creates a client for the API socket at {@code socketPath}, with {@link #DEFAULT_TIMEOUT}. */
  public KilnClient(Path socketPath) {
    this(socketPath, DEFAULT_TIMEOUT);
  }

  /**
   * Creates a client for the API socket at {@code socketPath}. It does not connect until the first
   * call.
   *
   * @param socketPath the path of the server's Unix socket
   * @param timeout time allowed for one call: connecting, sending and reading the response
   * @throws IllegalArgumentException if {@code timeout} is zero or negative
   */
  public KilnClient(Path socketPath, Duration timeout) {
    this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    this.mapper =
        new ObjectMapper()
            // Lets a newer server add values to an enum: this client reads them as null.
            .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL);
    this.connection = new UnixHttpConnection(UnixDomainSocketAddress.of(socketPath));
  }

  /**
   * Waits until a server accepts connections on {@code socketPath}, for callers that have just
   * started Kiln or Firecracker.
   *
   * @param socketPath the path of the server's Unix socket
   * @param timeout the longest time to wait
   * @throws SocketTimeoutException if no connection succeeded within {@code timeout}; the message
   *     names the last failure
   * @throws InterruptedException if the thread was interrupted while waiting
   */
  public static void waitForSocket(Path socketPath, Duration timeout)
      throws IOException, InterruptedException {
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socketPath);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      IOException failure;
      try (SocketChannel probe = SocketChannel.open(address)) {
        return;
      } catch (IOException e) {
        failure = e;
      }
      long remainingNanos = deadline - System.nanoTime();
      if (remainingNanos <= 0) {
        SocketTimeoutException timedOut =
            new SocketTimeoutException(
                "No server accepted connections on "
                    + socketPath
                    + " within "
                    + timeout.toMillis()
                    + " ms; last failure: "
                    + failure);
        timedOut.initCause(failure);
        throw timedOut;
      }
      Thread.sleep(Math.min(SOCKET_POLL_INTERVAL.toNanos(), remainingNanos) / 1_000_000L + 1);
    }
  }

  /** Returns the path of the server's Unix socket. */
  public Path socketPath() {
    return socketPath;
  }

  /** Returns the time allowed for one call. */
  public Duration timeout() {
    return timeout;
  }

  // Instance, version and actions.

  /** Returns the instance's id, state and server version ({@code GET /}). */
  public InstanceInfo describeInstance() throws IOException {
    return get("/", InstanceInfo.class);
  }

  /** Returns the server's version ({@code GET /version}). */
  public FirecrackerVersion getFirecrackerVersion() throws IOException {
    return get("/version", FirecrackerVersion.class);
  }

  /**
   * Returns the server's version ({@code GET /version}); the same as {@link
   * #getFirecrackerVersion}.
   */
  public FirecrackerVersion getVersion() throws IOException {
    return getFirecrackerVersion();
  }

  /** Performs a synchronous action ({@code PUT /actions}). */
  public void createSyncAction(InstanceActionInfo info) throws IOException {
    change("PUT", "/actions", info);
  }

  /** Boots the configured VM ({@code PUT /actions} with {@code InstanceStart}). */
  public void startInstance() throws IOException {
    createSyncAction(new InstanceActionInfo(InstanceActionInfo.ActionType.INSTANCE_START));
  }

  /** Sends Ctrl+Alt+Del to the guest ({@code PUT /actions} with {@code SendCtrlAltDel}). */
  public void sendCtrlAltDel() throws IOException {
    createSyncAction(new InstanceActionInfo(InstanceActionInfo.ActionType.SEND_CTRL_ALT_DEL));
  }

  /** Makes the server write its metrics now ({@code PUT /actions} with {@code FlushMetrics}). */
  public void flushMetrics() throws IOException {
    createSyncAction(new InstanceActionInfo(InstanceActionInfo.ActionType.FLUSH_METRICS));
  }

  /** Sets the VM's running state ({@code PATCH /vm}). */
  public void patchVm(Vm vm) throws IOException {
    change("PATCH", "/vm", vm);
  }

  /** Pauses the running VM ({@code PATCH /vm} with {@code Paused}). */
  public void pause() throws IOException {
    patchVm(Vm.paused());
  }

  /** Resumes the paused VM ({@code PATCH /vm} with {@code Resumed}). */
  public void resume() throws IOException {
    patchVm(Vm.resumed());
  }

  /** Returns the configuration of every VM resource ({@code GET /vm/config}). */
  public FullVmConfiguration getExportVmConfig() throws IOException {
    return get("/vm/config", FullVmConfiguration.class);
  }

  // Boot source, machine and CPU configuration.

  /** Sets the kernel, command line and initrd; before boot only ({@code PUT /boot-source}). */
  public void putGuestBootSource(BootSource bootSource) throws IOException {
    change("PUT", "/boot-source", bootSource);
  }

  /** Returns the machine configuration ({@code GET /machine-config}). */
  public MachineConfiguration getMachineConfiguration() throws IOException {
    return get("/machine-config", MachineConfiguration.class);
  }

  /**
   * Replaces the machine configuration; unset optional fields return to their defaults. Before boot
   * only ({@code PUT /machine-config}).
   */
  public void putMachineConfiguration(MachineConfiguration config) throws IOException {
    change("PUT", "/machine-config", config);
  }

  /**
   * Changes the fields set in {@code config} and keeps the others; before boot only ({@code PATCH
   * /machine-config}).
   */
  public void patchMachineConfiguration(MachineConfiguration config) throws IOException {
    change("PATCH", "/machine-config", config);
  }

  /** Sets a custom CPU template; before boot only ({@code PUT /cpu-config}). */
  public void putCpuConfiguration(CpuConfig config) throws IOException {
    change("PUT", "/cpu-config", config);
  }

  // Devices.

  /**
   * Creates or replaces the drive {@code driveId}; before boot only ({@code PUT
   * /drives/{drive_id}}).
   */
  public void putGuestDriveByID(String driveId, Drive drive) throws IOException {
    change("PUT", "/drives/" + PathSegments.encode(driveId), drive);
  }

  /**
   * Changes the backing file or rate limiter of the drive {@code driveId}; after boot only ({@code
   * PATCH /drives/{drive_id}}).
   */
  public void patchGuestDriveByID(String driveId, PartialDrive drive) throws IOException {
    change("PATCH", "/drives/" + PathSegments.encode(driveId), drive);
  }

  /** Creates or replaces the pmem device {@code id}; before boot only ({@code PUT /pmem/{id}}). */
  public void putGuestPmemByID(String id, Pmem pmem) throws IOException {
    change("PUT", "/pmem/" + PathSegments.encode(id), pmem);
  }

  /**
   * Changes the rate limiter of the pmem device {@code id}; after boot only ({@code PATCH
   * /pmem/{id}}).
   */
  public void patchGuestPmemByID(String id, PartialPmem pmem) throws IOException {
    change("PATCH", "/pmem/" + PathSegments.encode(id), pmem);
  }

  /**
   * Creates the network interface {@code ifaceId}; before boot only ({@code PUT
   * /network-interfaces/{iface_id}}).
   */
  public void putGuestNetworkInterfaceByID(String ifaceId, NetworkInterface iface)
      throws IOException {
    change("PUT", "/network-interfaces/" + PathSegments.encode(ifaceId), iface);
  }

  /**
   * Changes the rate limiters of the network interface {@code ifaceId}; after boot only ({@code
   * PATCH /network-interfaces/{iface_id}}).
   */
  public void patchGuestNetworkInterfaceByID(String ifaceId, PartialNetworkInterface iface)
      throws IOException {
    change("PATCH", "/network-interfaces/" + PathSegments.encode(ifaceId), iface);
  }

  /** Creates or replaces the vsock device; before boot only ({@code PUT /vsock}). */
  public void putGuestVsock(Vsock vsock) throws IOException {
    change("PUT", "/vsock", vsock);
  }

  /** Creates the entropy device; before boot only ({@code PUT /entropy}). */
  public void putEntropyDevice(EntropyDevice device) throws IOException {
    change("PUT", "/entropy", device);
  }

  /** Sets where the serial console's output goes ({@code PUT /serial}). */
  public void putSerialDevice(SerialDevice device) throws IOException {
    change("PUT", "/serial", device);
  }

  // Balloon.

  /** Creates or replaces the balloon device; before boot only ({@code PUT /balloon}). */
  public void putBalloon(Balloon balloon) throws IOException {
    change("PUT", "/balloon", balloon);
  }

  /** Sets the balloon's target size ({@code PATCH /balloon}). */
  public void patchBalloon(BalloonUpdate update) throws IOException {
    change("PATCH", "/balloon", update);
  }

  /** Returns the balloon's configuration ({@code GET /balloon}). */
  public Balloon describeBalloonConfig() throws IOException {
    return get("/balloon", Balloon.class);
  }

  /**
   * Returns the balloon's latest statistics, if statistics were turned on before boot ({@code GET
   * /balloon/statistics}).
   */
  public BalloonStats describeBalloonStats() throws IOException {
    return get("/balloon/statistics", BalloonStats.class);
  }

  /** Sets the balloon's statistics polling interval ({@code PATCH /balloon/statistics}). */
  public void patchBalloonStatsInterval(BalloonStatsUpdate update) throws IOException {
    change("PATCH", "/balloon/statistics", update);
  }

  /**
   * Starts a free page hinting run ({@code PATCH /balloon/hinting/start}).
   *
   * @param command the run's options, or {@code null} to send no body
   */
  public void startBalloonHinting(BalloonStartCmd command) throws IOException {
    change("PATCH", "/balloon/hinting/start", command);
  }

  /** Returns the state of free page hinting ({@code GET /balloon/hinting/status}). */
  public BalloonHintingStatus describeBalloonHinting() throws IOException {
    return get("/balloon/hinting/status", BalloonHintingStatus.class);
  }

  /** Stops the free page hinting run ({@code PATCH /balloon/hinting/stop}). */
  public void stopBalloonHinting() throws IOException {
    change("PATCH", "/balloon/hinting/stop", null);
  }

  // Hotpluggable memory.

  /** Creates the hotpluggable memory region ({@code PUT /hotplug/memory}). */
  public void putMemoryHotplug(MemoryHotplugConfig config) throws IOException {
    change("PUT", "/hotplug/memory", config);
  }

  /** Requests a new plugged size of hotpluggable memory ({@code PATCH /hotplug/memory}). */
  public void patchMemoryHotplug(MemoryHotplugSizeUpdate update) throws IOException {
    change("PATCH", "/hotplug/memory", update);
  }

  /** Returns the state of the hotpluggable memory ({@code GET /hotplug/memory}). */
  public MemoryHotplugStatus getMemoryHotplug() throws IOException {
    return get("/hotplug/memory", MemoryHotplugStatus.class);
  }

  // Logger and metrics.

  /** Sets up the server's log output ({@code PUT /logger}). */
  public void putLogger(Logger logger) throws IOException {
    change("PUT", "/logger", logger);
  }

  /** Sets up the server's metrics output ({@code PUT /metrics}). */
  public void putMetrics(Metrics metrics) throws IOException {
    change("PUT", "/metrics", metrics);
  }

  // Microvm metadata service.

  /** Replaces the MMDS data store with {@code contents} ({@code PUT /mmds}). */
  public void putMmds(JsonNode contents) throws IOException {
    change("PUT", "/mmds", contents);
  }

  /** Merges {@code patch} into the MMDS data store ({@code PATCH /mmds}). */
  public void patchMmds(JsonNode patch) throws IOException {
    change("PATCH", "/mmds", patch);
  }

  /** Returns the MMDS data store ({@code GET /mmds}). */
  public JsonNode getMmds() throws IOException {
    return get("/mmds", JsonNode.class);
  }

  /** Sets the MMDS version, address and interfaces; before boot only ({@code PUT /mmds/config}). */
  public void putMmdsConfig(MmdsConfig config) throws IOException {
    change("PUT", "/mmds/config", config);
  }

  // Snapshots.

  /** Writes a snapshot of the paused VM ({@code PUT /snapshot/create}). */
  public void createSnapshot(SnapshotCreateParams params) throws IOException {
    change("PUT", "/snapshot/create", params);
  }

  /** Loads a snapshot into a freshly started server ({@code PUT /snapshot/load}). */
  public void loadSnapshot(SnapshotLoadParams params) throws IOException {
    change("PUT", "/snapshot/load", params);
  }

  /** Closes the connection to the server; the server and the VM keep running. */
  @Override
  public void close() throws IOException {
    connection.close();
  }

  /** Sends a request whose success is any 2xx status; the body of the response is ignored. */
  private void change(String method, String path, Object body) throws IOException {
    byte[] json = body == null ? null : mapper.writeValueAsBytes(body);
    HttpResponse response = connection.send(method, path, json, timeout);
    checkSuccess(method, path, response);
  }

  /** Sends a GET request and decodes the {@code 200} response body as {@code type}. */
  private <T> T get(String path, Class<T> type) throws IOException {
    HttpResponse response = connection.send("GET", path, null, timeout);
    checkSuccess("GET", path, response);
    if (response.body().length == 0) {
      throw new ProtocolException(
          "GET " + path + " returned status " + response.statusCode() + " with an empty body");
    }
    try {
      return mapper.readValue(response.body(), type);
    } catch (JsonProcessingException e) {
      throw new ProtocolException(
          "GET "
              + path
              + " returned a body that is not a valid "
              + type.getSimpleName()
              + ": "
              + e.getOriginalMessage());
    }
  }

  private void checkSuccess(String method, String path, HttpResponse response)
      throws KilnApiException {
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      return;
    }
    throw new KilnApiException(method, path, status, faultMessage(response));
  }

  /** Returns the {@code fault_message} of an error body, or the body itself if it has none. */
  private String faultMessage(HttpResponse response) {
    if (response.body().length == 0) {
      return "(empty body)";
    }
    try {
      JsonNode fault = mapper.readTree(response.body()).get("fault_message");
      if (fault != null && fault.isTextual()) {
        return fault.asText();
      }
    } catch (IOException e) {
      // Not JSON: the raw body below is the best description there is.
    }
    return new String(response.body(), StandardCharsets.UTF_8);
  }
}
