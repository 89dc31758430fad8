#include "agent/podnet/names.h"

#include <cctype>
#include <cstdint>

namespace rampart::agent::podnet {

Result<void> validatePodUid(std::string_view uid) {
  bool alnum = false;
  for (char c : uid) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      alnum = true;
    } else if (c != '-') {
      return fail(ErrorCode::InvalidArgument, "pod uid '", uid,
                  "' has a character other than letters, digits and '-'");
    }
  }
  if (uid.empty() || uid.size() > 64 || !alnum) {
    return fail(ErrorCode::InvalidArgument, "pod uid '", uid,
                "' must have 1-64 characters, a letter or digit among them");
  }
  return ok();
}

std::string defaultNetnsPrefix(std::string_view node_name) {
  return "rampart-" + std::string(node_name) + "_";
}

std::string podNetnsName(std::string_view prefix, std::string_view uid) {
  return std::string(prefix) + std::string(uid);
}

std::optional<std::string> podUidFromNetnsName(std::string_view prefix, std::string_view name) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  std::string uid(name.substr(prefix.size()));
  if (!validatePodUid(uid)) {
    return std::nullopt;
  }
  return uid;
}

std::string hostVethName(std::string_view uid) {
  std::string name = "rv";
  for (char c : uid) {
    if (name.size() == 14) {
      break;
    }
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

Result<bool> hasEffectiveCapability(std::string_view proc_status, int cap) {
  constexpr std::string_view kKey = "CapEff:";
  size_t at = 0;
  while (at < proc_status.size()) {
    size_t end = proc_status.find('\n', at);
    if (end == std::string_view::npos) {
      end = proc_status.size();
    }
    auto line = proc_status.substr(at, end - at);
    if (line.substr(0, kKey.size()) == kKey) {
      auto value = line.substr(kKey.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      if (value.empty() || value.size() > 16) {
        break;
      }
      uint64_t mask = 0;
      for (char c : value) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
          return fail(ErrorCode::InvalidArgument, "CapEff is not hex: '", value, "'");
        }
        mask = mask * 16 +
               static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(c))
                                         ? c - '0'
                                         : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
      }
      return ((mask >> cap) & 1) != 0;
    }
    at = end + 1;
  }
  return fail(ErrorCode::InvalidArgument, "no valid CapEff line in the process status");
}

}  // namespace rampart::agent::podnet
