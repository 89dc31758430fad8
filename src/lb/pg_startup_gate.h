#pragma once
// PgStartupGate: which of a PostgreSQL client's first bytes may reach a server that is not yet
// confirmed primary. The write VIP connects a new client to a promoting member early, so that
// the costly part of a connection (the backend's fork, authentication, catalog loading) overlaps
// the promotion; the client's statements must still reach the server only once it is primary.
//
// The gate reads the client's side of the protocol (PostgreSQL's "Message Flow: Start-up") and
// lets through only what a client sends before it may send a statement: SSLRequest,
// GSSENCRequest, CancelRequest, the StartupMessage (protocol 3.0), and PasswordMessage-type
// messages ('p': password, SASL and GSSAPI responses). At the first other message, or anything
// it cannot parse (TLS after an accepted SSLRequest, an unknown protocol, a message too long to
// hold), the gate closes for good: nothing more passes until the caller releases the connection.
// Conservative by design: a closed gate only delays a client, it never lets a statement through.
//
// Not thread-safe; one gate per connection.

#include <cstddef>
#include <string_view>

namespace rampart::lb {

class PgStartupGate {
 public:
  // Startup-phase messages longer than this close the gate (PostgreSQL itself refuses a
  // StartupMessage over 10,000 bytes; password and SASL messages are far smaller).
  static constexpr size_t kMaxMessage = 16 * 1024;

  // `unread` holds the client's bytes that have not passed the gate yet, oldest first (bytes fed
  // earlier but not passed must be given again, with the newer ones after them). Returns how many
  // of them, from the front, may be forwarded now: whole admitted messages only.
  size_t admit(std::string_view unread);

  bool closed() const { return state_ == State::Closed; }

 private:
  enum class State { Untyped, Typed, Closed };
  State state_ = State::Untyped;  // Untyped: before the StartupMessage (no type byte)
};

}  // namespace rampart::lb
