#pragma once
// Who is calling: kube-apiserver's static token file (`--token-auth-file`) and client
// certificates (the verified certificate's common name is the user). Every request must
// authenticate one way or the other (401 otherwise); there is no anonymous access. Every
// authenticated user may do everything (no RBAC): the token file and the client CA are the
// trust boundary.
//
// Token file format (kube-apiserver's): CSV lines `token,user,uid[,"group1,group2"]`; blank
// lines and lines starting with '#' are skipped. Tokens are compared in constant time.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::api {

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
};

class TokenTable {
 public:
  // Errors name the file and line ("tokens.csv:3: needs at least 3 columns (token, user, uid)").
  static Result<TokenTable> parse(std::string_view text, const std::string& origin);
  static Result<TokenTable> load(const std::string& path);

  // The user of a bearer token, or nullopt-like NotFound.
  Result<UserInfo> authenticate(std::string_view token) const;
  bool empty() const { return entries_.empty(); }
  // The first entry (for writing an admin kubeconfig).
  const std::string& firstToken() const { return entries_.front().token; }

 private:
  struct Entry {
    std::string token;
    UserInfo user;
  };
  std::vector<Entry> entries_;
};

// One CSV record (RFC 4180 quoting), for the token file. InvalidArgument on an open quote.
Result<std::vector<std::string>> splitCsvLine(std::string_view line);

}  // namespace rampart::api
