#include "redis/resp.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/hex.h"

namespace rampart::redis {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// A header number ("*3", "$12"): digits with an optional '-', nothing else.
std::optional<int64_t> headerNumber(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Splits an inline line as Redis's sdssplitargs does: words separated by spaces; "..." with
// \n \r \t \b \a \xHH and \<char> escapes; '...' with \' only; a closing quote must be followed
// by a space or the end. nullopt on unbalanced quotes.
std::optional<std::vector<std::string>> splitInline(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  const size_t n = line.size();
  for (;;) {
    while (i < n && isSpace(line[i])) {
      ++i;
    }
    if (i >= n) {
      return words;
    }
    std::string word;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) {
          return std::nullopt;
        }
        char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hexValue(line[i + 2]) >= 0 &&
            hexValue(line[i + 3]) >= 0) {
          word.push_back(static_cast<char>(hexValue(line[i + 2]) * 16 + hexValue(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          char e = line[++i];
          switch (e) {
            case 'n':
              word.push_back('\n');
              break;
            case 'r':
              word.push_back('\r');
              break;
            case 't':
              word.push_back('\t');
              break;
            case 'b':
              word.push_back('\b');
              break;
            case 'a':
              word.push_back('\a');
              break;
            default:
              word.push_back(e);
          }
        } else if (c == '"') {
          if (i + 1 < n && !isSpace(line[i + 1])) {
            return std::nullopt;
          }
          done = true;
        } else {
          word.push_back(c);
        }
      } else if (in_single) {
        if (i >= n) {
          return std::nullopt;
        }
        char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          word.push_back('\'');
          ++i;
        } else if (c == '\'') {
          if (i + 1 < n && !isSpace(line[i + 1])) {
            return std::nullopt;
          }
          done = true;
        } else {
          word.push_back(c);
        }
      } else {
        if (i >= n) {
          done = true;
          continue;
        }
        char c = line[i];
        if (isSpace(c)) {
          done = true;
        } else if (c == '"') {
          in_double = true;
        } else if (c == '\'') {
          in_single = true;
        } else {
          word.push_back(c);
        }
      }
      if (i < n) {
        ++i;
      }
    }
    words.push_back(std::move(word));
  }
}

Result<std::optional<Request>> parseInline(std::string_view buffer, const RequestLimits& limits) {
  size_t nl = buffer.find('\n');
  if (nl == std::string_view::npos) {
    if (buffer.size() > limits.max_inline_bytes) {
      return fail(ErrorCode::InvalidArgument, "Protocol error: too big inline request");
    }
    return std::optional<Request>();
  }
  if (nl > limits.max_inline_bytes) {
    return fail(ErrorCode::InvalidArgument, "Protocol error: too big inline request");
  }
  std::string_view line = buffer.substr(0, nl);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  auto words = splitInline(line);
  if (!words) {
    return fail(ErrorCode::InvalidArgument, "Protocol error: unbalanced quotes in request");
  }
  if (words->size() > limits.max_args) {
    return fail(ErrorCode::InvalidArgument, "Protocol error: invalid multibulk length");
  }
  return std::optional<Request>(Request{std::move(*words), nl + 1});
}

}  // namespace

Result<std::optional<Request>> parseRequest(std::string_view buffer, const RequestLimits& limits) {
  if (buffer.empty()) {
    return std::optional<Request>();
  }
  if (buffer[0] != '*') {
    return parseInline(buffer, limits);
  }
  // A header line "<prefix><number>\r\n" starting at `pos`: the number and the position after
  // it; nullopt for more bytes; an error for a malformed one.
  struct Header {
    int64_t value;
    size_t next;
  };
  auto header = [&](size_t pos, std::string_view too_big,
                    std::string_view invalid) -> Result<std::optional<Header>> {
    size_t cr = buffer.find('\r', pos + 1);
    if (cr == std::string_view::npos) {
      if (buffer.size() - pos > limits.max_inline_bytes) {
        return fail(ErrorCode::InvalidArgument, too_big);
      }
      return std::optional<Header>();
    }
    if (cr - pos > limits.max_inline_bytes) {
      return fail(ErrorCode::InvalidArgument, too_big);
    }
    if (cr + 1 >= buffer.size()) {
      return std::optional<Header>();
    }
    if (buffer[cr + 1] != '\n') {
      return fail(ErrorCode::InvalidArgument, "Protocol error: expected CRLF");
    }
    auto value = headerNumber(buffer.substr(pos + 1, cr - pos - 1));
    if (!value) {
      return fail(ErrorCode::InvalidArgument, invalid);
    }
    return std::optional<Header>(Header{*value, cr + 2});
  };

  auto count = header(0, "Protocol error: too big mbulk count string",
                      "Protocol error: invalid multibulk length");
  if (!count) {
    return fail(count.error());
  }
  if (!*count) {
    return std::optional<Request>();
  }
  if ((*count)->value > static_cast<int64_t>(limits.max_args)) {
    return fail(ErrorCode::InvalidArgument, "Protocol error: invalid multibulk length");
  }
  Request request;
  size_t pos = (*count)->next;
  if ((*count)->value <= 0) {
    request.consumed = pos;
    return std::optional<Request>(std::move(request));
  }
  const auto elements = static_cast<size_t>((*count)->value);
  request.argv.reserve(elements);
  for (size_t i = 0; i < elements; ++i) {
    if (pos >= buffer.size()) {
      return std::optional<Request>();
    }
    if (buffer[pos] != '$') {
      std::string got(1, buffer[pos]);
      return fail(ErrorCode::InvalidArgument, "Protocol error: expected '$', got '", got, "'");
    }
    auto length = header(pos, "Protocol error: too big bulk count string",
                         "Protocol error: invalid bulk length");
    if (!length) {
      return fail(length.error());
    }
    if (!*length) {
      return std::optional<Request>();
    }
    if ((*length)->value < 0 || (*length)->value > static_cast<int64_t>(limits.max_bulk_bytes)) {
      return fail(ErrorCode::InvalidArgument, "Protocol error: invalid bulk length");
    }
    const auto size = static_cast<size_t>((*length)->value);
    size_t start = (*length)->next;
    // start <= buffer.size() and size <= max_bulk_bytes: no overflow in start + size + 2.
    if (buffer.size() - start < size + kCrlf.size()) {
      return std::optional<Request>();
    }
    if (buffer.substr(start + size, kCrlf.size()) != kCrlf) {
      return fail(ErrorCode::InvalidArgument, "Protocol error: expected CRLF");
    }
    request.argv.emplace_back(buffer.substr(start, size));
    pos = start + size + kCrlf.size();
  }
  request.consumed = pos;
  return std::optional<Request>(std::move(request));
}

std::string protocolErrorReply(const Error& error) {
  RespWriter writer;
  writer.error("ERR " + error.message);
  return writer.take();
}

namespace {
void appendLine(std::string& out, char prefix, std::string_view text) {
  out.push_back(prefix);
  for (char c : text) {
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  out.append(kCrlf);
}
}  // namespace

RespWriter& RespWriter::status(std::string_view text) {
  appendLine(out_, '+', text);
  return *this;
}

RespWriter& RespWriter::error(std::string_view text) {
  appendLine(out_, '-', text);
  return *this;
}

RespWriter& RespWriter::integer(int64_t value) {
  out_.push_back(':');
  out_.append(std::to_string(value));
  out_.append(kCrlf);
  return *this;
}

RespWriter& RespWriter::bulk(std::string_view data) {
  out_.push_back('$');
  out_.append(std::to_string(data.size()));
  out_.append(kCrlf);
  out_.append(data);
  out_.append(kCrlf);
  return *this;
}

RespWriter& RespWriter::nil() {
  out_.append("$-1\r\n");
  return *this;
}

RespWriter& RespWriter::nullArray() {
  out_.append("*-1\r\n");
  return *this;
}

RespWriter& RespWriter::array(size_t count) {
  out_.push_back('*');
  out_.append(std::to_string(count));
  out_.append(kCrlf);
  return *this;
}

std::string lowerName(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace rampart::redis
