#pragma once
// The container logs the node agent serves (GET /containerLogs/{ns}/{pod}/{container}), in the
// kubelet's CRI log format: one line per write,
//   2026-12-06T21:00:01.123456789Z stdout F text
// (RFC 3339 time with nanoseconds, the stream, F = the line is complete, P = a partial piece that
// the next line continues), one file per container attempt, rotated to older files.
//
// Semantics, as the kubelet's (pkg/kubelet/kuberuntime/logs):
//   - the output is the text without the prefix; P pieces are joined with the pieces after them
//     into one logical line; stdout and stderr are interleaved in file order;
//   - timestamps=true puts "<time as written> " before each logical line (the first piece's);
//   - tailLines = the last N logical lines (of all files: rotated ones first);
//   - sinceSeconds/sinceTime: only lines stamped at or after that instant;
//   - limitBytes: the output is cut after that many bytes (mid-line if need be).
// Pure: no files, no clock (the caller passes "now" for sinceSeconds). Thread-compatible.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::agent::nodeapi {

using WallTime = std::chrono::system_clock::time_point;

// "2026-12-06T21:00:01.123456789Z" or with an offset ("+02:00"); fraction optional.
Result<WallTime> parseRfc3339(std::string_view text);

struct CriLine {
  std::string timestamp;  // as written
  WallTime time;
  bool stderr_stream = false;
  bool partial = false;  // P: continued by the next line of the same stream
  std::string text;
};

// One line without its newline. InvalidArgument for anything not in the format.
Result<CriLine> parseCriLine(std::string_view line);

// A logical line: P pieces joined with their final F piece.
struct LogEntry {
  std::string timestamp;  // the first piece's
  WallTime time;
  std::string text;
  bool complete = true;  // false: the file ends within it (its F line is not written yet)
};

// Turns file bytes into logical lines, across reads and files (a partial file line waits for
// its newline; a P line waits for its F). Malformed lines are skipped and counted.
class LogAssembler {
 public:
  // The logical lines that `bytes` completes.
  std::vector<LogEntry> feed(std::string_view bytes);
  // At the end of the log (no more writes): what is pending, as incomplete entries.
  std::vector<LogEntry> finish();
  uint64_t malformed() const { return malformed_; }

 private:
  std::string unterminated_;         // bytes after the last newline
  std::optional<LogEntry> joining_;  // P pieces so far
  uint64_t malformed_ = 0;
};

struct LogOptions {
  bool follow = false;
  bool previous = false;
  bool timestamps = false;
  std::optional<int64_t> tail_lines;
  std::optional<WallTime> since;  // from sinceSeconds (now - s) or sinceTime
  std::optional<int64_t> limit_bytes;
};

// From the query (decoded key → value); InvalidArgument with the kubelet-like message for a
// value that is not a boolean / integer / RFC 3339 time, or out of range.
Result<LogOptions> parseLogOptions(const std::map<std::string, std::string>& query, WallTime now);

// One entry as it is written out ("[<timestamp> ]text\n", no newline when incomplete).
std::string formatEntry(const LogEntry& entry, bool timestamps);

// The answer for a finished read: since, then tail, then timestamps, then limitBytes.
std::string renderLog(const std::vector<LogEntry>& entries, const LogOptions& options);

// Whether a newly followed entry is shown (since only; tail applies to the initial part).
bool showFollowed(const LogEntry& entry, const LogOptions& options);

}  // namespace rampart::agent::nodeapi
