#include "agent/runtime/cri_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace rampart::agent::runtime {

std::string formatCriTime(WallTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  // Floor division, so that times before 1970 keep a non-negative fraction.
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  time_t tt = static_cast<time_t>(secs);
  struct tm tm {};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string formatCriLine(WallTime t, LogStream stream, bool partial, std::string_view text) {
  std::string line = formatCriTime(t);
  line += stream == LogStream::Stdout ? " stdout " : " stderr ";
  line += partial ? "P " : "F ";
  line += text;
  line += '\n';
  return line;
}

namespace {
Result<WallTime> parseCriTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  int year, mon, day, hour, min, sec;
  if (s.size() < 20 || s.back() != 'Z' ||
      std::sscanf(std::string(s.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon,
                  &day, &hour, &min, &sec) != 6) {
    return fail(ErrorCode::InvalidArgument, "bad CRI log time '", s, "'");
  }
  int64_t frac_ns = 0;
  std::string_view rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) {
      return fail(ErrorCode::InvalidArgument, "bad CRI log time '", s, "'");
    }
    int64_t scale = 100000000;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') {
        return fail(ErrorCode::InvalidArgument, "bad CRI log time '", s, "'");
      }
      frac_ns += (c - '0') * scale;
      scale /= 10;
    }
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t secs = ::timegm(&tm);
  return WallTime{} + std::chrono::duration_cast<WallTime::duration>(
                          std::chrono::seconds(secs) + std::chrono::nanoseconds(frac_ns));
}
}  // namespace

Result<CriRecord> parseCriLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  auto bad = [&] { return fail(ErrorCode::InvalidArgument, "bad CRI log line '", line, "'"); };
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return bad();
  }
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 + 2 > line.size()) {
    return bad();
  }
  auto time = parseCriTime(line.substr(0, sp1));
  if (!time) {
    return fail(time.error());
  }
  CriRecord record;
  record.time = *time;
  auto stream = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (stream == "stdout") {
    record.stream = LogStream::Stdout;
  } else if (stream == "stderr") {
    record.stream = LogStream::Stderr;
  } else {
    return bad();
  }
  char tag = line[sp2 + 1];
  if ((tag != 'P' && tag != 'F') || (sp2 + 2 < line.size() && line[sp2 + 2] != ' ')) {
    return bad();
  }
  record.partial = tag == 'P';
  if (sp2 + 3 <= line.size()) {
    record.text = std::string(line.substr(sp2 + 3));
  }
  return record;
}

void CriLineSplitter::feed(std::string_view bytes, const Emit& emit) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);  // up to the newline, or everything
    // Invariant: pending_.size() < max_line_, so room ≥ 1 and every pass consumes bytes.
    size_t room = max_line_ - pending_.size();
    if (piece.size() > room || (piece.size() == room && nl == std::string_view::npos)) {
      // The line reaches max_line_ bytes without ending here: a partial record of that size.
      pending_.append(piece.substr(0, room));
      emit(pending_, true);
      pending_.clear();
      bytes.remove_prefix(room);
      continue;
    }
    pending_.append(piece);
    if (nl == std::string_view::npos) {
      return;
    }
    emit(pending_, false);
    pending_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void CriLineSplitter::finish(const Emit& emit) {
  if (!pending_.empty()) {
    emit(pending_, false);
    pending_.clear();
  }
}

CriLogWriter::CriLogWriter(std::string path, int64_t max_bytes, int max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files < 1 ? 1 : max_files) {}

CriLogWriter::~CriLogWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<void> CriLogWriter::open() {
  // 0644: the logs API may run as another user than the shim (root).
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return fail(ErrorCode::Unavailable, "open ", path_, ": ", std::strerror(errno));
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? st.st_size : 0;
  return ok();
}

Result<void> CriLogWriter::rotate() {
  ::close(fd_);
  fd_ = -1;
  if (max_files_ <= 1) {
    ::unlink(path_.c_str());  // no rotated copies kept: start the file over
  } else {
    // path.(max_files-1) is overwritten by the rename below: the oldest copy goes.
    for (int i = max_files_ - 2; i >= 1; --i) {
      ::rename((path_ + "." + std::to_string(i)).c_str(),
               (path_ + "." + std::to_string(i + 1)).c_str());
    }
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  return open();
}

Result<void> CriLogWriter::write(std::string_view record) {
  if (fd_ < 0) {
    return fail(ErrorCode::FailedPrecondition, "log ", path_, " is not open");
  }
  if (size_ > 0 && size_ + static_cast<int64_t>(record.size()) > max_bytes_) {
    if (auto r = rotate(); !r) {
      return r;
    }
  }
  while (!record.empty()) {
    ssize_t n = ::write(fd_, record.data(), record.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(ErrorCode::Unavailable, "write ", path_, ": ", std::strerror(errno));
    }
    size_ += n;
    record.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace rampart::agent::runtime
