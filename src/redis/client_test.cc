#include <gtest/gtest.h>

#include "redis/client.h"

namespace rampart::redis {
namespace {

TEST(CommandNameTest, NamesTheCommandAndTheSubcommandOfContainers) {
  EXPECT_EQ(commandName({"role"}), "ROLE");
  EXPECT_EQ(commandName({"info", "replication"}), "INFO REPLICATION");
  EXPECT_EQ(commandName({"SENTINEL", "get-master-addr-by-name", "mymaster"}),
            "SENTINEL GET-MASTER-ADDR-BY-NAME");
  EXPECT_EQ(commandName({}), "(empty command)");
}

// Errors carry the command name into logs: keys, values and passwords must stay out.
TEST(CommandNameTest, LeavesArgumentsOut) {
  EXPECT_EQ(commandName({"SET", "user:1", "secret-value"}), "SET");
  EXPECT_EQ(commandName({"AUTH", "default", "hunter2"}), "AUTH");
  EXPECT_EQ(commandName({"CONFIG", "SET", "requirepass", "hunter2"}), "CONFIG SET");
  // A "subcommand" that is not a short word is data, not a name.
  EXPECT_EQ(commandName({"CLIENT", "a value with spaces"}), "CLIENT");
  EXPECT_EQ(commandName({"DEBUG", std::string(40, 'x')}), "DEBUG");
}

}  // namespace
}  // namespace rampart::redis
