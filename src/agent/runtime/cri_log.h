#pragma once
// Container logs in the kubelet's CRI format, one record per line:
//   2026-12-06T21:00:01.123456789Z stdout F text
// "F" ends a line; a line longer than kMaxCriLine bytes is cut into "P" (partial) records of that
// size followed by an "F" record with the rest (containerd's rule, what `kubectl logs` joins).
// The formatting, splitting and parsing are pure; CriLogWriter is the file I/O (rotation).
// Not thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/runtime/container.h"
#include "base/result.h"

namespace rampart::agent::runtime {

inline constexpr size_t kMaxCriLine = 16 * 1024;

enum class LogStream { Stdout, Stderr };

// RFC 3339 in UTC with nanoseconds, always 9 digits ("…T21:00:01.000000000Z").
std::string formatCriTime(WallTime t);
// One record, newline-terminated. `text` holds no newline.
std::string formatCriLine(WallTime t, LogStream stream, bool partial, std::string_view text);

struct CriRecord {
  WallTime time;
  LogStream stream = LogStream::Stdout;
  bool partial = false;
  std::string text;
};
// Parses one record (with or without its trailing newline); InvalidArgument when malformed.
Result<CriRecord> parseCriLine(std::string_view line);

// Cuts one stream's bytes into records: complete lines (without '\n') as final, pieces of a line
// longer than `max_line` as partial. Bytes of an unfinished line wait for the next feed().
class CriLineSplitter {
 public:
  using Emit = std::function<void(std::string_view text, bool partial)>;
  explicit CriLineSplitter(size_t max_line = kMaxCriLine) : max_line_(max_line) {}
  void feed(std::string_view bytes, const Emit& emit);
  // At end of stream: an unfinished line is emitted as final.
  void finish(const Emit& emit);

 private:
  size_t max_line_;
  std::string pending_;  // bytes of the current line, always < max_line_
};

// Appends records to `path`; when a write would take the file past `max_bytes`, the file is
// rotated first: path.(n-1) → path.n …, path → path.1, keeping at most `max_files` files in all
// (the current one included). Blocking file I/O.
class CriLogWriter {
 public:
  CriLogWriter(std::string path, int64_t max_bytes, int max_files);
  ~CriLogWriter();
  CriLogWriter(const CriLogWriter&) = delete;
  CriLogWriter& operator=(const CriLogWriter&) = delete;

  Result<void> open();
  Result<void> write(std::string_view record);

 private:
  Result<void> rotate();
  std::string path_;
  int64_t max_bytes_;
  int max_files_;
  int fd_ = -1;
  int64_t size_ = 0;
};

}  // namespace rampart::agent::runtime
