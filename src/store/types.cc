#include "store/types.h"

namespace rampart::store {

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  // Every key starting with an all-0xff prefix: to the end of the keyspace.
  return std::string(1, '\0');
}

}  // namespace rampart::store
