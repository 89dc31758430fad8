#include "base/result.h"

namespace rampart {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return "Ok";
    case ErrorCode::Cancelled:
      return "Cancelled";
    case ErrorCode::Unknown:
      return "Unknown";
    case ErrorCode::InvalidArgument:
      return "InvalidArgument";
    case ErrorCode::DeadlineExceeded:
      return "DeadlineExceeded";
    case ErrorCode::NotFound:
      return "NotFound";
    case ErrorCode::AlreadyExists:
      return "AlreadyExists";
    case ErrorCode::FailedPrecondition:
      return "FailedPrecondition";
    case ErrorCode::OutOfRange:
      return "OutOfRange";
    case ErrorCode::Unavailable:
      return "Unavailable";
    case ErrorCode::PermissionDenied:
      return "PermissionDenied";
    case ErrorCode::Unauthenticated:
      return "Unauthenticated";
    case ErrorCode::Internal:
      return "Internal";
  }
  return "Unknown";
}

std::string Error::toString() const {
  std::string out(errorCodeName(code));
  out += ": ";
  out += message;
  return out;
}

}  // namespace rampart
