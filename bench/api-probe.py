#!/usr/bin/env python3
"""Starts an API server and times it from outside, for bench/api-startup.sh.

Usage: api-probe.py SOCKET COMMAND [ARG ...]

Launches COMMAND and tries to connect to the Unix socket SOCKET every millisecond until a
connection succeeds. It sends GET / on that connection, then 100 GET / and 20 PUT /machine-config
requests, each on a new connection, and stops the server with SIGTERM. Prints one line of space-separated figures:
ms from launch to the first successful connect, ms from launch to the end of the first 200
response, VmRSS in KiB after that response, VmRSS in KiB after the 120 requests, "removed" or
"left" for the socket file after exit, the number of connect attempts, and the CPU ms that this
process spent between launch and the first connect (the poller's own overhead).
"""

import os
import resource
import signal
import socket
import subprocess
import sys
import time

POLL_INTERVAL_S = 0.001
START_TIMEOUT_S = 60


def read_response(sock):
    """Read one HTTP/1.1 response framed by Content-Length and return (status, body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the response head ended: %r" % data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed after %d of %d body bytes" % (len(body), length))
        body += chunk
    return status, body


def request(sock, method, target, body=b""):
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (method, target)
    if body:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    sock.sendall(head.encode("ascii") + b"\r\n" + body)
    return read_response(sock)


def request_new_connection(path, method, target, expected, body=b""):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        status, content = request(sock, method, target, body)
    if status != expected:
        raise RuntimeError("%s %s returned %d, expected %d: %r" % (method, target, status, expected, content))


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/%d/status" % pid)


def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: api-probe.py SOCKET COMMAND [ARG ...]")
    path, command = sys.argv[1], sys.argv[2:]
    cpu_before = cpu_ms()
    start = time.monotonic_ns()
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    try:
        attempts = 0
        while True:
            attempts += 1
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
            if server.poll() is not None:
                sys.exit("the server exited with status %d before its socket accepted" % server.returncode)
            if time.monotonic_ns() - start > START_TIMEOUT_S * 1e9:
                sys.exit("the socket %s did not accept within %d s" % (path, START_TIMEOUT_S))
            time.sleep(POLL_INTERVAL_S)
        accepted = time.monotonic_ns()
        poller_cpu = cpu_ms() - cpu_before
        with sock:
            status, body = request(sock, "GET", "/")
        answered = time.monotonic_ns()
        if status != 200 or b'"Not started"' not in body:
            sys.exit("GET / returned %d %r, expected 200 with state Not started" % (status, body))
        rss_first = vm_rss_kib(server.pid)
        for _ in range(100):
            request_new_connection(path, "GET", "/", 200)
        for i in range(20):
            config = b'{"vcpu_count": %d, "mem_size_mib": 256}' % (1 + i % 2)
            request_new_connection(path, "PUT", "/machine-config", 204, config)
        rss_after = vm_rss_kib(server.pid)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            sys.exit("the server did not exit within 20 s of SIGTERM; killed it")
    removed = "left" if os.path.lexists(path) else "removed"
    print("%.1f %.1f %d %d %s %d %.1f" % (
        (accepted - start) / 1e6, (answered - start) / 1e6, rss_first, rss_after,
        removed, attempts, poller_cpu))


if __name__ == "__main__":
    main()
