#pragma once
// What a member manager accepts from etcd, its peers and its config, and how it writes values
// into PostgreSQL's files. Pure functions, no I/O.
//
// Trust: etcd and the network are outside input. Every name, host and port read from there is
// checked here before it is used, and a member's entry counts under its KEY (members/<name>): a
// value that names another member is ignored. Everything written into a PostgreSQL file goes
// through one of the quoting functions below, which refuse control characters (a newline would
// end the value and start a setting of the writer's choice) and escape every character that
// could end the value early; so whatever a value holds, it stays one value on one line.
//
// Names: a member's name is also its replication slot and application_name, and PostgreSQL
// allows only [a-z0-9_] (at most 63 bytes) in slot names; so member names are exactly that set,
// mapped 1:1, with no translation that two names could collide in.

#include <string>
#include <string_view>

#include "base/result.h"
#include "pg/state.h"

namespace rampart::pg {

// A member name: [a-z0-9_], 1 to 63 characters (it names a replication slot).
Result<void> checkMemberName(std::string_view name);
// A cluster name (a path segment of the etcd keys): [a-z0-9], then [-a-z0-9_.], ending in
// [a-z0-9], at most 63 characters.
Result<void> checkClusterName(std::string_view name);
// A host to connect to: an IPv4 or IPv6 address, or an RFC 1123 host name (labels of
// [A-Za-z0-9-], 1 to 63 characters, not starting or ending with '-'; at most 253 in all).
Result<void> checkHost(std::string_view host);
// A "host:port" address as members publish their REST API ("[v6]:port" or "v6:port" for IPv6:
// the port follows the last colon).
Result<void> checkHostPort(std::string_view address);
// An address range for pg_hba.conf: "10.0.0.0/8", "::1/128" (a bare address is refused).
Result<void> checkCidr(std::string_view cidr);
// A PostgreSQL role name as the config gives it: [A-Za-z0-9_], then [A-Za-z0-9_.-], at most 63.
Result<void> checkRoleName(std::string_view name);
// A postgresql.conf parameter name: [A-Za-z_], then [A-Za-z0-9_.] (custom options have dots).
Result<void> checkParameterName(std::string_view name);
// Refuses control characters (bytes below 0x20 and 0x7f): they can end a line of a file.
Result<void> checkNoControlCharacters(std::string_view value);

// A member status read from etcd under members/<key_name>: the names, host, port and REST
// address it carries are valid, and its name is its key's.
Result<void> checkMemberStatus(std::string_view key_name, const MemberStatus& status);
// decodeMemberStatus + checkMemberStatus: the value of members/<key_name>.
Result<MemberStatus> decodeMemberEntry(std::string_view key_name, std::string_view value);
// A sync state read from etcd: every name in it is a member name.
Result<void> checkSyncState(const SyncState& sync);
// A switchover request read from etcd: its names are member names (or empty).
Result<void> checkSwitchoverRequest(const SwitchoverRequest& request);

// A postgresql.conf / postgresql.auto.conf value: 'text' with ' doubled and \ doubled (the
// server reads \ as an escape inside quotes).
Result<std::string> confValue(std::string_view value);
// A libpq connection-string value: pq::quoteValue ('text' with ' and \ escaped by \), refusing
// control characters as well.
Result<std::string> conninfoValue(std::string_view value);
// A field of a .pgpass line: ':' and '\' escaped by \.
Result<std::string> pgpassField(std::string_view value);
// A pg_hba.conf token (database or role name) in double quotes, so it is never read as a
// keyword (all, replication), a group (+name) or a file (@file); it may not hold '"'.
Result<std::string> hbaToken(std::string_view value);
// An operator's pg_hba.conf line: one line (no control characters but tabs, no trailing '\'
// that would continue it onto Rampart's next line), not empty.
Result<void> checkHbaLine(std::string_view line);

}  // namespace rampart::pg
