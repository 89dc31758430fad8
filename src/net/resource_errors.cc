#include "net/resource_errors.h"

#include <cerrno>

namespace rampart::net {

bool isLocalResourceError(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

bool isLocalConnectError(int err) {
  return isLocalResourceError(err) || err == EADDRNOTAVAIL || err == EAGAIN;
}

}  // namespace rampart::net
