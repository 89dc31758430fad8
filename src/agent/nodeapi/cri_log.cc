#include "agent/nodeapi/cri_log.h"

#include <charconv>

#include "api/query_values.h"

namespace rampart::agent::nodeapi {

namespace {

bool digits(std::string_view text, size_t at, size_t n, int& out) {
  if (at + n > text.size()) {
    return false;
  }
  int value = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

}  // namespace

Result<WallTime> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  bool shape = digits(text, 0, 4, year) && text.size() > 19 && text[4] == '-' &&
               digits(text, 5, 2, month) && text[7] == '-' && digits(text, 8, 2, day) &&
               (text[10] == 'T' || text[10] == 't') && digits(text, 11, 2, hour) &&
               text[13] == ':' && digits(text, 14, 2, minute) && text[16] == ':' &&
               digits(text, 17, 2, second);
  if (!shape || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return fail(ErrorCode::InvalidArgument, "not an RFC 3339 time: \"", text, "\"");
  }
  size_t at = 19;
  int64_t nanos = 0;
  if (text[at] == '.') {
    ++at;
    int64_t scale = 100000000;
    size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (scale > 0) {
        nanos += (text[at] - '0') * scale;
        scale /= 10;
      }
      ++at;
    }
    if (at == start) {
      return fail(ErrorCode::InvalidArgument, "not an RFC 3339 time: \"", text, "\"");
    }
  }
  int offset_minutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
    offset_minutes = 0;
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(text, at + 1, 2, oh) || !digits(text, at + 4, 2, om)) {
      return fail(ErrorCode::InvalidArgument, "not an RFC 3339 time: \"", text, "\"");
    }
    offset_minutes = (oh * 60 + om) * (text[at] == '-' ? -1 : 1);
  } else {
    return fail(ErrorCode::InvalidArgument, "not an RFC 3339 time: \"", text, "\"");
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) {
    return fail(ErrorCode::InvalidArgument, "not an RFC 3339 time: \"", text, "\"");
  }
  auto since_epoch = std::chrono::sys_days(date).time_since_epoch() + std::chrono::hours(hour) +
                     std::chrono::minutes(minute - offset_minutes) + std::chrono::seconds(second) +
                     std::chrono::nanoseconds(nanos);
  return WallTime(std::chrono::duration_cast<WallTime::duration>(since_epoch));
}

Result<CriLine> parseCriLine(std::string_view line) {
  // "<time> <stream> <tag> <text>": the text may be empty ("... stdout F ").
  size_t first = line.find(' ');
  if (first == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "CRI log line without a stream");
  }
  size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "CRI log line without a tag");
  }
  size_t third = line.find(' ', second + 1);
  std::string_view tag = line.substr(
      second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1);
  CriLine parsed;
  parsed.timestamp = std::string(line.substr(0, first));
  auto time = parseRfc3339(parsed.timestamp);
  if (!time) {
    return fail(time.error());
  }
  parsed.time = *time;
  std::string_view stream = line.substr(first + 1, second - first - 1);
  if (stream == "stderr") {
    parsed.stderr_stream = true;
  } else if (stream != "stdout") {
    return fail(ErrorCode::InvalidArgument, "CRI log line with stream \"", stream, "\"");
  }
  // The tag may carry more flags after ':' in later CRI versions ("F:x"); the first is P or F.
  std::string_view kind = tag.substr(0, tag.find(':'));
  if (kind == "P") {
    parsed.partial = true;
  } else if (kind != "F") {
    return fail(ErrorCode::InvalidArgument, "CRI log line with tag \"", tag, "\"");
  }
  if (third != std::string_view::npos) {
    parsed.text = std::string(line.substr(third + 1));
  }
  return parsed;
}

std::vector<LogEntry> LogAssembler::feed(std::string_view bytes) {
  std::vector<LogEntry> done;
  unterminated_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t newline = unterminated_.find('\n', start);
    if (newline == std::string::npos) {
      break;
    }
    std::string_view line(unterminated_.data() + start, newline - start);
    start = newline + 1;
    auto parsed = parseCriLine(line);
    if (!parsed) {
      ++malformed_;
      continue;
    }
    if (!joining_) {
      joining_ = LogEntry{parsed->timestamp, parsed->time, std::move(parsed->text), false};
    } else {
      joining_->text += parsed->text;
    }
    if (!parsed->partial) {
      joining_->complete = true;
      done.push_back(std::move(*joining_));
      joining_.reset();
    }
  }
  unterminated_.erase(0, start);
  return done;
}

std::vector<LogEntry> LogAssembler::finish() {
  std::vector<LogEntry> rest;
  if (!unterminated_.empty()) {
    // A last line without its newline: the writer died mid-write; keep what parses.
    auto done = feed("\n");
    rest.insert(rest.end(), done.begin(), done.end());
  }
  if (joining_) {
    rest.push_back(std::move(*joining_));
    joining_.reset();
  }
  return rest;
}

Result<LogOptions> parseLogOptions(const std::map<std::string, std::string>& query, WallTime now) {
  LogOptions options;
  for (const auto& [key, value] : query) {
    if (key == "follow" || key == "previous" || key == "timestamps") {
      auto b = api::parseQueryBool(key, value);
      if (!b) {
        return fail(b.error());
      }
      (key == "follow"     ? options.follow
       : key == "previous" ? options.previous
                           : options.timestamps) = *b;
    } else if (key == "tailLines" || key == "limitBytes" || key == "sinceSeconds") {
      auto n = api::parseQueryInt(key, value);
      if (!n) {
        return fail(n.error());
      }
      if (key == "tailLines") {
        if (*n < 0) {
          return fail(ErrorCode::InvalidArgument, "tailLines: must be greater than or equal to 0");
        }
        options.tail_lines = *n;
      } else if (key == "limitBytes") {
        if (*n < 1) {
          return fail(ErrorCode::InvalidArgument, "limitBytes: must be greater than 0");
        }
        options.limit_bytes = *n;
      } else {
        if (*n < 1) {
          return fail(ErrorCode::InvalidArgument, "sinceSeconds: must be greater than 0");
        }
        options.since = now - std::chrono::seconds(*n);
      }
    } else if (key == "sinceTime") {
      auto t = parseRfc3339(value);
      if (!t) {
        return fail(ErrorCode::InvalidArgument, "sinceTime: ", t.error().message);
      }
      if (query.contains("sinceSeconds")) {
        return fail(ErrorCode::InvalidArgument,
                    "at most one of `sinceTime` or `sinceSeconds` may be specified");
      }
      options.since = *t;
    }
  }
  return options;
}

std::string formatEntry(const LogEntry& entry, bool timestamps) {
  std::string out;
  if (timestamps) {
    out += entry.timestamp;
    out += ' ';
  }
  out += entry.text;
  if (entry.complete) {
    out += '\n';
  }
  return out;
}

bool showFollowed(const LogEntry& entry, const LogOptions& options) {
  return !options.since || entry.time >= *options.since;
}

std::string renderLog(const std::vector<LogEntry>& entries, const LogOptions& options) {
  // Since is a filter per line (stdout and stderr lines need not be in time order), tail counts
  // what is left.
  std::vector<const LogEntry*> shown;
  for (const auto& entry : entries) {
    if (showFollowed(entry, options)) {
      shown.push_back(&entry);
    }
  }
  size_t first = 0;
  if (options.tail_lines && static_cast<size_t>(*options.tail_lines) < shown.size()) {
    first = shown.size() - static_cast<size_t>(*options.tail_lines);
  }
  std::string out;
  for (size_t i = first; i < shown.size(); ++i) {
    out += formatEntry(*shown[i], options.timestamps);
    if (options.limit_bytes && out.size() >= static_cast<size_t>(*options.limit_bytes)) {
      out.resize(static_cast<size_t>(*options.limit_bytes));
      break;
    }
  }
  return out;
}

}  // namespace rampart::agent::nodeapi
