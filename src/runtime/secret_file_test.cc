#include "runtime/secret_file.h"
#include "testing/test_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rampart::runtime {
namespace {

using rampart::testing::TempDir;

unsigned modeOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

std::string contents(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SecretFile, IsCreated0600EvenUnderAPermissiveUmask) {
  TempDir dir;
  mode_t old = ::umask(0);
  auto written = writeSecretFile(dir.path() + "/password", "s3cret\n");
  ::umask(old);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(modeOf(dir.path() + "/password"), 0600u);
  EXPECT_EQ(contents(dir.path() + "/password"), "s3cret\n");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/password.tmp"));
  EXPECT_EQ(*readSecretFile(dir.path() + "/password"), "s3cret");
}

TEST(SecretFile, ReplacesAnExistingFileWithoutWideningIt) {
  TempDir dir;
  std::string path = dir.path() + "/token";
  { std::ofstream(path) << "old"; }
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(writeSecretFile(path, "new"));
  EXPECT_EQ(contents(path), "new");
  EXPECT_EQ(modeOf(path), 0600u);
}

TEST(SecretFile, PlantedSymlinkAtTheTemporaryNameIsRefusedAndNotFollowed) {
  TempDir dir;
  std::string victim = dir.path() + "/victim";
  { std::ofstream(victim) << "untouched"; }
  std::string path = dir.path() + "/password";
  ASSERT_EQ(::symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
  auto written = writeSecretFile(path, "s3cret");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("password.tmp"), std::string::npos)
      << written.error().message;
  EXPECT_EQ(contents(victim), "untouched");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SecretFile, PermissionCheckRefusesGroupOrWorldReadableFiles) {
  TempDir dir;
  std::string path = dir.path() + "/password";
  { std::ofstream(path) << "s3cret"; }
  ::chmod(path.c_str(), 0644);
  auto loose = checkSecretFilePermissions(path);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message.find("0644"), std::string::npos) << loose.error().message;
  EXPECT_NE(loose.error().message.find(path), std::string::npos);
  EXPECT_FALSE(readSecretFile(path));
  ::chmod(path.c_str(), 0640);
  EXPECT_FALSE(checkSecretFilePermissions(path));
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(checkSecretFilePermissions(path));
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(checkSecretFilePermissions(path));
}

TEST(SecretFile, PermissionCheckNamesAMissingFile) {
  auto missing = checkSecretFilePermissions("/nonexistent/secret");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/secret"), std::string::npos);
}

}  // namespace
}  // namespace rampart::runtime
