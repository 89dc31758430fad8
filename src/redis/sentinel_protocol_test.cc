#include "redis/sentinel_protocol.h"

#include <gtest/gtest.h>

#include "redis/reply.h"
#include "redis/resp.h"

namespace rampart::redis {
namespace {

using Argv = std::vector<std::string>;

// Decodes one RESP2 reply from the front of `in` (the test's own reader, independent of
// hiredis), advancing `pos`.
Reply decode(const std::string& in, size_t& pos) {
  size_t cr = in.find("\r\n", pos);
  EXPECT_NE(cr, std::string::npos);
  char kind = in[pos];
  std::string line = in.substr(pos + 1, cr - pos - 1);
  pos = cr + 2;
  switch (kind) {
    case '+':
      return Reply::status(line);
    case '-':
      return Reply::error(line);
    case ':':
      return Reply::integerValue(std::stoll(line));
    case '$': {
      long long n = std::stoll(line);
      if (n < 0) {
        return Reply::nil();
      }
      Reply r = Reply::string(in.substr(pos, static_cast<size_t>(n)));
      EXPECT_EQ(in.substr(pos + static_cast<size_t>(n), 2), "\r\n");
      pos += static_cast<size_t>(n) + 2;
      return r;
    }
    case '*': {
      long long n = std::stoll(line);
      if (n < 0) {
        return Reply::nil();
      }
      std::vector<Reply> items;
      for (long long i = 0; i < n; ++i) {
        items.push_back(decode(in, pos));
      }
      return Reply::array(std::move(items));
    }
    default:
      ADD_FAILURE() << "bad reply: " << in;
      return Reply::nil();
  }
}

Reply decodeAll(const std::string& in) {
  size_t pos = 0;
  Reply r = decode(in, pos);
  EXPECT_EQ(pos, in.size()) << "trailing bytes in " << in;
  return r;
}

// A map reply's field names in order, and its values by name.
std::vector<std::string> names(const Reply& map) {
  std::vector<std::string> out;
  for (size_t i = 0; i < map.elements.size(); i += 2) {
    out.push_back(map.elements[i].str);
  }
  return out;
}

std::string field(const Reply& map, const std::string& name) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == name) {
      return map.elements[i + 1].str;
    }
  }
  ADD_FAILURE() << "no field " << name;
  return "";
}

SentinelSnapshot snapshot() {
  SentinelSnapshot s;
  s.master_name = "mymaster";
  s.master = {"10.0.0.1", 6379};
  s.master_run_id = "c56164c61473198c94ed5827a20a9ac2f5dca6d6";
  s.quorum = 2;
  SentinelSnapshot::Replica r1;
  r1.address = {"10.0.0.2", 6380};
  r1.run_id = "9c429dc309f50a9579b723c185ae64bb2f8381f5";
  r1.offset = 291;
  SentinelSnapshot::Replica r2;
  r2.address = {"::1", 6381};
  r2.flags = {"s_down", "disconnected"};
  r2.master_link_up = false;
  s.replicas = {r1, r2};
  s.sentinels = {{{"10.0.0.9", 26379}, "0123456789abcdef0123456789abcdef01234567", 12}};
  return s;
}

std::string answer(const Argv& argv) {
  SentinelSession session;
  return answerSentinel(snapshot(), argv, session);
}

TEST(SentinelProtocolTest, GetMasterAddrByNameAnswersIpAndPort) {
  EXPECT_EQ(answer({"SENTINEL", "get-master-addr-by-name", "mymaster"}),
            "*2\r\n$8\r\n10.0.0.1\r\n$4\r\n6379\r\n");
  // Command and subcommand names are case-insensitive, master names are not.
  EXPECT_EQ(answer({"sentinel", "GET-MASTER-ADDR-BY-NAME", "mymaster"}),
            "*2\r\n$8\r\n10.0.0.1\r\n$4\r\n6379\r\n");
  EXPECT_EQ(answer({"SENTINEL", "get-master-addr-by-name", "MyMaster"}), "*-1\r\n");
}

// The field names and their order as Redis 7.0's Sentinel answers SENTINEL MASTERS.
const std::vector<std::string> kMasterFields = {"name",
                                                "ip",
                                                "port",
                                                "runid",
                                                "flags",
                                                "link-pending-commands",
                                                "link-refcount",
                                                "last-ping-sent",
                                                "last-ok-ping-reply",
                                                "last-ping-reply",
                                                "down-after-milliseconds",
                                                "info-refresh",
                                                "role-reported",
                                                "role-reported-time",
                                                "config-epoch",
                                                "num-slaves",
                                                "num-other-sentinels",
                                                "quorum",
                                                "failover-timeout",
                                                "parallel-syncs"};

TEST(SentinelProtocolTest, MastersListsTheOneMasterWithSentinelsFields) {
  Reply masters = decodeAll(answer({"SENTINEL", "masters"}));
  ASSERT_EQ(masters.type, Reply::Type::Array);
  ASSERT_EQ(masters.elements.size(), 1u);
  const Reply& m = masters.elements[0];
  EXPECT_EQ(names(m), kMasterFields);
  EXPECT_EQ(field(m, "name"), "mymaster");
  EXPECT_EQ(field(m, "ip"), "10.0.0.1");
  EXPECT_EQ(field(m, "port"), "6379");
  EXPECT_EQ(field(m, "runid"), "c56164c61473198c94ed5827a20a9ac2f5dca6d6");
  EXPECT_EQ(field(m, "flags"), "master");
  EXPECT_EQ(field(m, "num-slaves"), "2");
  EXPECT_EQ(field(m, "num-other-sentinels"), "1");
  EXPECT_EQ(field(m, "quorum"), "2");
  // Every value is a bulk string, numbers included, as Sentinel sends them.
  for (const auto& e : m.elements) {
    EXPECT_EQ(e.type, Reply::Type::String);
  }
}

TEST(SentinelProtocolTest, MasterAnswersTheSameMapOrNoSuchMaster) {
  Reply m = decodeAll(answer({"SENTINEL", "master", "mymaster"}));
  EXPECT_EQ(names(m), kMasterFields);
  EXPECT_EQ(answer({"SENTINEL", "master", "nope"}), "-ERR No such master with that name\r\n");
}

TEST(SentinelProtocolTest, ReplicasAndSlavesListEveryReplicaWithItsLink) {
  for (const char* sub : {"replicas", "slaves"}) {
    Reply list = decodeAll(answer({"SENTINEL", sub, "mymaster"}));
    ASSERT_EQ(list.elements.size(), 2u) << sub;
    const Reply& r = list.elements[0];
    std::vector<std::string> expected(kMasterFields.begin(), kMasterFields.begin() + 14);
    for (const char* f :
         {"master-link-down-time", "master-link-status", "master-host", "master-port",
          "slave-priority", "slave-repl-offset", "replica-announced"}) {
      expected.push_back(f);
    }
    EXPECT_EQ(names(r), expected);
    EXPECT_EQ(field(r, "name"), "10.0.0.2:6380");
    EXPECT_EQ(field(r, "flags"), "slave");
    EXPECT_EQ(field(r, "role-reported"), "slave");
    EXPECT_EQ(field(r, "master-link-status"), "ok");
    EXPECT_EQ(field(r, "master-host"), "10.0.0.1");
    EXPECT_EQ(field(r, "master-port"), "6379");
    EXPECT_EQ(field(r, "slave-repl-offset"), "291");
    const Reply& down = list.elements[1];
    EXPECT_EQ(field(down, "name"), "[::1]:6381");
    EXPECT_EQ(field(down, "flags"), "s_down,slave,disconnected");
    EXPECT_EQ(field(down, "master-link-status"), "err");
  }
  EXPECT_EQ(answer({"SENTINEL", "slaves", "nope"}), "-ERR No such master with that name\r\n");
}

TEST(SentinelProtocolTest, SentinelsListTheOtherSentinelsByRunId) {
  Reply list = decodeAll(answer({"SENTINEL", "sentinels", "mymaster"}));
  ASSERT_EQ(list.elements.size(), 1u);
  const Reply& s = list.elements[0];
  std::vector<std::string> expected(kMasterFields.begin(), kMasterFields.begin() + 11);
  expected.insert(expected.end(), {"last-hello-message", "voted-leader", "voted-leader-epoch"});
  EXPECT_EQ(names(s), expected);
  EXPECT_EQ(field(s, "name"), "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(field(s, "ip"), "10.0.0.9");
  EXPECT_EQ(field(s, "port"), "26379");
  EXPECT_EQ(field(s, "flags"), "sentinel");
  SentinelSnapshot alone = snapshot();
  alone.sentinels.clear();
  SentinelSession session;
  EXPECT_EQ(answerSentinel(alone, {"SENTINEL", "sentinels", "mymaster"}, session), "*0\r\n");
}

TEST(SentinelProtocolTest, WrongArgumentCountsAndUnknownSubcommandsInSentinelsWords) {
  EXPECT_EQ(answer({"SENTINEL"}), "-ERR wrong number of arguments for 'sentinel' command\r\n");
  EXPECT_EQ(answer({"SENTINEL", "masters", "extra"}),
            "-ERR wrong number of arguments for 'sentinel|masters' command\r\n");
  EXPECT_EQ(answer({"SENTINEL", "master"}),
            "-ERR wrong number of arguments for 'sentinel|master' command\r\n");
  EXPECT_EQ(answer({"SENTINEL", "get-master-addr-by-name"}),
            "-ERR wrong number of arguments for 'sentinel|get-master-addr-by-name' command\r\n");
  EXPECT_EQ(answer({"SENTINEL", "bogus"}),
            "-ERR unknown subcommand 'bogus'. Try SENTINEL HELP.\r\n");
}

TEST(SentinelProtocolTest, PingAnswersPongOrItsArgument) {
  EXPECT_EQ(answer({"PING"}), "+PONG\r\n");
  EXPECT_EQ(answer({"ping", "hi"}), "$2\r\nhi\r\n");
  EXPECT_EQ(answer({"PING", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
}

TEST(SentinelProtocolTest, RoleSaysSentinelWithTheMasterName) {
  EXPECT_EQ(answer({"ROLE"}), "*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n");
  EXPECT_EQ(answer({"ROLE", "x"}), "-ERR wrong number of arguments for 'role' command\r\n");
}

TEST(SentinelProtocolTest, ClientSetnameIsRememberedForTheConnection) {
  SentinelSession session;
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT", "GETNAME"}, session), "$-1\r\n");
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT", "SETNAME", "app-1"}, session), "+OK\r\n");
  EXPECT_EQ(session.client_name, "app-1");
  EXPECT_EQ(answerSentinel(snapshot(), {"client", "getname"}, session), "$5\r\napp-1\r\n");
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT", "SETNAME", "a b"}, session),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  EXPECT_EQ(session.client_name, "app-1");
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT", "SETNAME"}, session),
            "-ERR wrong number of arguments for 'client|setname' command\r\n");
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT", "bogus"}, session),
            "-ERR unknown subcommand 'bogus'. Try CLIENT HELP.\r\n");
  EXPECT_EQ(answerSentinel(snapshot(), {"CLIENT"}, session),
            "-ERR wrong number of arguments for 'client' command\r\n");
}

TEST(SentinelProtocolTest, HelloTwoAnswersSentinelModeAndThreeIsRefused) {
  SentinelSession session;
  session.id = 18;
  Reply hello = decodeAll(answerSentinel(snapshot(), {"HELLO", "2"}, session));
  ASSERT_EQ(hello.elements.size(), 12u);
  EXPECT_EQ(names(hello),
            (std::vector<std::string>{"server", "version", "proto", "id", "mode", "modules"}));
  EXPECT_EQ(hello.elements[5], Reply::integerValue(2));
  EXPECT_EQ(hello.elements[7], Reply::integerValue(18));
  EXPECT_EQ(hello.elements[9], Reply::string("sentinel"));
  EXPECT_EQ(hello.elements[11], Reply::array({}));
  EXPECT_EQ(answerSentinel(snapshot(), {"HELLO"}, session),
            answerSentinel(snapshot(), {"HELLO", "2"}, session));
  EXPECT_EQ(answer({"HELLO", "3"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(answer({"HELLO", "4"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(answer({"HELLO", "abc"}),
            "-ERR Protocol version is not an integer or out of range\r\n");
  EXPECT_EQ(answer({"HELLO", "2", "bogus"}), "-ERR Syntax error in HELLO option 'bogus'\r\n");
  EXPECT_EQ(answer({"HELLO", "2", "AUTH", "someone", "pw"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(answerSentinel(snapshot(), {"HELLO", "2", "SETNAME", "svc"}, session)[0], '*');
  EXPECT_EQ(session.client_name, "svc");
}

TEST(SentinelProtocolTest, AuthFailsAsOnASentinelWithoutPasswords) {
  EXPECT_EQ(answer({"AUTH", "secret"}),
            "-ERR AUTH <password> called without any password configured for the default "
            "user. Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(answer({"AUTH", "someone", "secret"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  // The default user has no password, so it takes any.
  EXPECT_EQ(answer({"AUTH", "default", "anything"}), "+OK\r\n");
  EXPECT_EQ(answer({"AUTH"}), "-ERR wrong number of arguments for 'auth' command\r\n");
}

TEST(SentinelProtocolTest, UnknownCommandsGetSentinelsErrorWithTheirArguments) {
  EXPECT_EQ(answer({"foo", "bar", "baz"}),
            "-ERR unknown command 'foo', with args beginning with: 'bar' 'baz' \r\n");
  EXPECT_EQ(answer({"GET", "x"}), "-ERR unknown command 'GET', with args beginning with: 'x' \r\n");
  EXPECT_EQ(answer({"SET"}), "-ERR unknown command 'SET', with args beginning with: \r\n");
  // Long arguments are cut (about 128 bytes in all) and line breaks cannot end the error early.
  std::string reply = answer({"x", std::string(300, 'a'), "b\r\nc"});
  EXPECT_LT(reply.size(), 200u);
  EXPECT_EQ(reply.find("\r\n"), reply.size() - 2);
}

TEST(SentinelProtocolTest, QuitAnswersOkAndClosesTheConnection) {
  SentinelSession session;
  EXPECT_EQ(answerSentinel(snapshot(), {"QUIT"}, session), "+OK\r\n");
  EXPECT_TRUE(session.close);
}

TEST(SentinelProtocolTest, AnEmptyCommandGetsNoReply) { EXPECT_EQ(answer({}), ""); }

// Parser and responder together, as a connection uses them: two pipelined requests.
TEST(SentinelProtocolTest, PipelinedRequestsAreAnsweredInOrder) {
  std::string input = "*1\r\n$4\r\nPING\r\nROLE\r\n";
  std::string out;
  SentinelSession session;
  std::string_view rest = input;
  while (!rest.empty()) {
    auto req = parseRequest(rest);
    ASSERT_TRUE(req && *req);
    out += answerSentinel(snapshot(), (*req)->argv, session);
    rest.remove_prefix((*req)->consumed);
  }
  EXPECT_EQ(out, "+PONG\r\n*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n");
}

}  // namespace
}  // namespace rampart::redis
