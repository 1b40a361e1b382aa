// SPDX-License-Identifier: Apache-2.0
// RequestStream: what httplib writes reaches the socket as a response frames
// it, however much of each write the socket takes.

#include "request_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "connection.h"

namespace ctx::http::internal {
namespace {

// WriteAll writes `data` as httplib does (its write_data): again with the
// rest until all is taken.
bool WriteAll(RequestStream& stream, const std::string& data) {
  size_t offset = 0;
  while (offset < data.size()) {
    const ssize_t n = stream.write(data.data() + offset, data.size() - offset);
    if (n < 0) return false;
    offset += static_cast<size_t>(n);
  }
  return true;
}

// ReadAll reads what `fd` holds until it has `want` bytes or waits 5 s.
std::string ReadAll(int fd, size_t want) {
  std::string got;
  char buffer[65536];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      got.append(buffer, static_cast<size_t>(n));
    } else {
      ::usleep(1000);
    }
  }
  return got;
}

// SmallBufferedPair makes a socket pair whose first end (the server's) is
// non-blocking with a small send buffer, so a write of a few KiB fills it.
void SmallBufferedPair(int fds[2]) {
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
            0);
}

// A head the socket takes only part of is finished by httplib's next writes;
// those bytes are head, not the sized body (which they would have cut to its
// stated length, ending the response inside its head).
TEST(RequestStream, HeadTheSocketTakesInPartsIsNotCountedAsBody) {
  int fds[2];
  ASSERT_NO_FATAL_FAILURE(SmallBufferedPair(fds));
  ParserLimits limits;
  {
    Connection conn(fds[0], 1, Peer{}, limits);
    conn.provider_body_left = 5;
    RequestStream stream(conn, ParsedRequest{}, std::chrono::seconds(2),
                         std::chrono::seconds(5));
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Big: " +
                             std::string(40'000, 'h') + "\r\n\r\n";
    // The socket cannot take it all: the rest waits in the connection's
    // tail (which the server loop would write).
    ASSERT_TRUE(WriteAll(stream, head));
    ASSERT_TRUE(WriteAll(stream, "hello"));
    EXPECT_FALSE(conn.last_response) << "the body was taken as too long";
    std::string queued;
    for (; !conn.tail.empty(); conn.tail.pop_front())
      queued.append(conn.tail.front().bytes, conn.tail.front().pos);
    ASSERT_FALSE(queued.empty()) << "the socket took the whole head at once";
    const std::string got = ReadAll(fds[1], head.size() + 5 - queued.size());
    EXPECT_EQ(got + queued, head + "hello");
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

// httplib writes the body even when the head's write failed: every write
// after a failed one fails, so no body byte goes out in the head's place,
// and the stream says the response was not written whole.
TEST(RequestStream, WriteAfterAFailedOneFails) {
  int fds[2];
  ASSERT_NO_FATAL_FAILURE(SmallBufferedPair(fds));
  ParserLimits limits;
  {
    Connection conn(fds[0], 1, Peer{}, limits);
    RequestStream stream(conn, ParsedRequest{}, std::chrono::milliseconds(50),
                         std::chrono::seconds(5));
    // Past what the tail may copy: the worker waits for the reader, which
    // never reads, until the write timeout.
    const std::string head =
        "HTTP/1.1 200 OK\r\nX-Big: " +
        std::string(RequestStream::kMaxCopiedTail * 2, 'h') + "\r\n\r\n";
    EXPECT_FALSE(WriteAll(stream, head)) << "the head was written";
    EXPECT_EQ(stream.write("body", 4), -1) << "a body byte went out";
    EXPECT_TRUE(stream.failed());
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace ctx::http::internal
