/*
 * kiln-vsock: the guest half of Kiln's vsock tests.
 *
 *   kiln-vsock listen PORT        accept one connection on PORT, echo it
 *   kiln-vsock connect PORT BYTES connect to the host (CID 2) on PORT, send
 *                                 BYTES bytes, read the echo and compare
 *
 * The listener writes back every byte it reads until the peer shuts down
 * its side, then closes. The connecting side sends a fixed pseudo-random
 * pattern, shuts down its write side, reads until end of file, and checks
 * that the echo equals what it sent.
 *
 * Each run prints one line that the tests match:
 *   kiln-vsock: listen port=P received=N fnv=H
 *   kiln-vsock: connect port=P sent=N received=N fnv=H match=yes|no
 * where H is the 64-bit FNV-1a hash of the bytes received. Errors print
 * "kiln-vsock: error: ..." and exit with status 1.
 *
 * Built statically by guest/build.sh, so it needs no libraries in the guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t hash, const unsigned char *data, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		hash ^= data[i];
		hash *= FNV_PRIME;
	}
	return hash;
}

static void fail(const char *what)
{
	printf("kiln-vsock: error: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static unsigned long parse_number(const char *text, const char *name)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || *text == '\0' || *end != '\0') {
		printf("kiln-vsock: error: %s must be a decimal number, got '%s'\n", name, text);
		exit(1);
	}
	return value;
}

/* Writes all of buffer, retrying short writes. */
static void write_all(int fd, const unsigned char *buffer, size_t length)
{
	while (length > 0) {
		ssize_t written = write(fd, buffer, length);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			fail("write");
		}
		buffer += written;
		length -= (size_t)written;
	}
}

/* The byte at offset i of the pattern the connecting side sends. */
static unsigned char pattern_byte(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ULL;
	return (unsigned char)(x >> 56);
}

static int run_listen(unsigned int port)
{
	int server = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (server < 0)
		fail("socket(AF_VSOCK)");
	struct sockaddr_vm address = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	if (bind(server, (struct sockaddr *)&address, sizeof(address)) < 0)
		fail("bind");
	if (listen(server, 1) < 0)
		fail("listen");
	printf("kiln-vsock: listening on port %u\n", port);
	fflush(stdout);
	int connection = accept(server, NULL, NULL);
	if (connection < 0)
		fail("accept");

	unsigned char buffer[16384];
	uint64_t received = 0, hash = FNV_OFFSET;
	for (;;) {
		ssize_t count = read(connection, buffer, sizeof(buffer));
		if (count < 0) {
			if (errno == EINTR)
				continue;
			fail("read");
		}
		if (count == 0)
			break;
		received += (uint64_t)count;
		hash = fnv1a(hash, buffer, (size_t)count);
		write_all(connection, buffer, (size_t)count);
	}
	close(connection);
	close(server);
	printf("kiln-vsock: listen port=%u received=%" PRIu64 " fnv=%016" PRIx64 "\n", port,
	       received, hash);
	return 0;
}

static int run_connect(unsigned int port, uint64_t bytes)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket(AF_VSOCK)");
	struct sockaddr_vm address = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_HOST,
		.svm_port = port,
	};
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0)
		fail("connect");

	/*
	 * Send one buffer, then read until its echo is back, so neither side's
	 * receive buffer has to hold more than one buffer of the transfer.
	 * After the last buffer, shut down the write side and read to the end.
	 */
	unsigned char out[8192], in[8192];
	uint64_t sent = 0, received = 0, hash = FNV_OFFSET;
	int match = 1, done_sending = 0;
	for (;;) {
		if (!done_sending && received == sent) {
			size_t length = 0;
			while (length < sizeof(out) && sent + length < bytes) {
				out[length] = pattern_byte(sent + length);
				length++;
			}
			write_all(fd, out, length);
			sent += length;
			if (sent == bytes) {
				if (shutdown(fd, SHUT_WR) < 0)
					fail("shutdown");
				done_sending = 1;
			}
			continue;
		}
		ssize_t count = read(fd, in, sizeof(in));
		if (count < 0) {
			if (errno == EINTR)
				continue;
			fail("read");
		}
		if (count == 0)
			break;
		for (ssize_t i = 0; i < count; i++) {
			if (in[i] != pattern_byte(received + (uint64_t)i))
				match = 0;
		}
		hash = fnv1a(hash, in, (size_t)count);
		received += (uint64_t)count;
	}
	close(fd);
	if (received != sent)
		match = 0;
	printf("kiln-vsock: connect port=%u sent=%" PRIu64 " received=%" PRIu64 " fnv=%016" PRIx64
	       " match=%s\n",
	       port, sent, received, hash, match ? "yes" : "no");
	return match ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return run_listen((unsigned int)parse_number(argv[2], "PORT"));
	if (argc == 4 && strcmp(argv[1], "connect") == 0)
		return run_connect((unsigned int)parse_number(argv[2], "PORT"),
				   parse_number(argv[3], "BYTES"));
	fprintf(stderr, "usage: kiln-vsock listen PORT | kiln-vsock connect PORT BYTES\n");
	return 2;
}
