#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace rampart::api {

Result<std::vector<std::string>> splitCsvLine(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) {
    return fail(ErrorCode::InvalidArgument, "a quoted field is not closed");
  }
  fields.push_back(std::move(field));
  return fields;
}

namespace {

std::string trim(std::string s) {
  auto begin = s.find_first_not_of(" \t\r");
  auto end = s.find_last_not_of(" \t\r");
  return begin == std::string::npos ? std::string() : s.substr(begin, end - begin + 1);
}

// Comparing digests of equal length in constant time hides both the token and its length.
std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

Result<TokenTable> TokenTable::parse(std::string_view text, const std::string& origin) {
  TokenTable table;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string content = trim(line);
    if (content.empty() || content.front() == '#') {
      continue;
    }
    auto fields = splitCsvLine(content);
    if (!fields) {
      return fail(ErrorCode::InvalidArgument, origin, ":", std::to_string(number), ": ",
                  fields.error().message);
    }
    if (fields->size() < 3) {
      return fail(ErrorCode::InvalidArgument, origin, ":", std::to_string(number),
                  ": needs at least 3 columns (token, user name, user uid), found ",
                  std::to_string(fields->size()));
    }
    Entry entry;
    entry.token = trim((*fields)[0]);
    entry.user.name = trim((*fields)[1]);
    entry.user.uid = trim((*fields)[2]);
    if (entry.token.empty() || entry.user.name.empty()) {
      return fail(ErrorCode::InvalidArgument, origin, ":", std::to_string(number),
                  ": the token and the user name must not be empty");
    }
    if (fields->size() >= 4) {
      auto groups = splitCsvLine((*fields)[3]);
      for (auto& group : *groups) {
        if (!trim(group).empty()) {
          entry.user.groups.push_back(trim(group));
        }
      }
    }
    for (const auto& other : table.entries_) {
      if (other.token == entry.token) {
        return fail(ErrorCode::InvalidArgument, origin, ":", std::to_string(number),
                    ": the same token is already given to user \"", other.user.name, "\"");
      }
    }
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty()) {
    return fail(ErrorCode::InvalidArgument, origin, ": no tokens");
  }
  return table;
}

Result<TokenTable> TokenTable::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::InvalidArgument, "cannot read token file ", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Result<UserInfo> TokenTable::authenticate(std::string_view token) const {
  auto wanted = digest(token);
  const Entry* found = nullptr;
  for (const auto& entry : entries_) {
    auto have = digest(entry.token);
    if (CRYPTO_memcmp(have.data(), wanted.data(), have.size()) == 0) {
      found = &entry;  // no early exit: the time does not depend on the position
    }
  }
  if (!found) {
    return fail(ErrorCode::NotFound, "unknown token");
  }
  return found->user;
}

}  // namespace rampart::api
