#include "api/meta.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace rampart::api {
namespace {
using json = nlohmann::json;

ServerFacts facts() {
  return {"2026-12-06T02:50:10Z", [] { return std::string("uid-1"); },
          [](size_t n) { return std::string(n, 'x'); }};
}

TEST(Names, SubdomainsAndLabelsFollowRfc1123) {
  EXPECT_EQ(dns1123SubdomainError("web-1.example"), "");
  EXPECT_EQ(dns1123LabelError("default"), "");
  EXPECT_NE(dns1123SubdomainError("Web"), "");
  EXPECT_NE(dns1123SubdomainError("web..x"), "");
  EXPECT_NE(dns1123SubdomainError("-web"), "");
  EXPECT_NE(dns1123SubdomainError(""), "");
  EXPECT_NE(dns1123LabelError("a.b"), "");
  EXPECT_EQ(dns1123LabelError(std::string(64, 'a')), "must be no more than 63 characters");
  EXPECT_EQ(dns1123SubdomainError(std::string(254, 'a')), "must be no more than 253 characters");
}

TEST(ObjectMeta, ValidObjectHasNoErrors) {
  json pod = json::parse(R"({"metadata":{"name":"web-1","namespace":"default",
      "labels":{"app":"web"},"annotations":{"example.com/note":"hi"}}})");
  EXPECT_TRUE(validateObjectMeta(pod, true, NameRule::Subdomain).empty());
}

TEST(ObjectMeta, EachProblemIsReportedWithItsField) {
  json bad = json::parse(R"({"metadata":{"name":"Web_1","labels":{"app":"-x"}}})");
  auto errors = validateObjectMeta(bad, true, NameRule::Subdomain);
  std::set<std::string> fields;
  for (const auto& e : errors) {
    fields.insert(e.field);
  }
  EXPECT_EQ(fields,
            (std::set<std::string>{"metadata.name", "metadata.namespace", "metadata.labels"}));
  auto node = validateObjectMeta(json::parse(R"({"metadata":{"name":"n1","namespace":"x"}})"),
                                 false, NameRule::Subdomain);
  ASSERT_EQ(node.size(), 1u);
  EXPECT_EQ(node[0].type, FieldError::Type::Forbidden);
}

TEST(ObjectMeta, GenerateNameStandsInForAName) {
  EXPECT_TRUE(
      validateObjectMeta(json::parse(R"({"metadata":{"generateName":"web-","namespace":"d"}})"),
                         true, NameRule::Subdomain)
          .empty());
  auto missing = validateObjectMeta(json::parse(R"({"metadata":{"namespace":"d"}})"), true,
                                    NameRule::Subdomain);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].toString(),
            "metadata.name: Required value: name or generateName is required");
}

TEST(ObjectMeta, OversizedAnnotationsAreRejected) {
  json big = {
      {"metadata", {{"name", "a"}, {"annotations", {{"k", std::string(300 * 1024, 'x')}}}}}};
  auto errors = validateObjectMeta(big, false, NameRule::Subdomain);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, FieldError::Type::TooLong);
}

TEST(PrepareForCreate, ServerOwnedFieldsAreSetAndClientCopiesDropped) {
  json obj = json::parse(R"({"metadata":{"generateName":"web-","uid":"forged",
      "resourceVersion":"7","deletionTimestamp":"2020-01-01T00:00:00Z"},"spec":{}})");
  prepareForCreate(obj, true, facts());
  EXPECT_EQ(obj["metadata"]["name"], "web-xxxxx");
  EXPECT_EQ(obj["metadata"]["uid"], "uid-1");
  EXPECT_EQ(obj["metadata"]["creationTimestamp"], "2026-12-06T02:50:10Z");
  EXPECT_EQ(obj["metadata"]["generation"], 1);
  EXPECT_FALSE(obj["metadata"].contains("resourceVersion"));
  EXPECT_FALSE(obj["metadata"].contains("deletionTimestamp"));
}

TEST(PrepareForUpdate, GenerationCountsSpecChangesAndStatusIsKept) {
  json old = json::parse(R"({"metadata":{"name":"w","uid":"u","generation":3,
      "creationTimestamp":"t"},"spec":{"replicas":1},"status":{"replicas":1}})");
  json same = json::parse(R"({"metadata":{"name":"w","uid":"x","labels":{"a":"b"}},
      "spec":{"replicas":1},"status":{"replicas":9}})");
  prepareForUpdate(same, old, true, true);
  EXPECT_EQ(same["metadata"]["generation"], 3);
  EXPECT_EQ(same["metadata"]["uid"], "u");
  EXPECT_EQ(same["metadata"]["labels"]["a"], "b");
  EXPECT_EQ(same["status"]["replicas"], 1);
  json scaled = json::parse(R"({"metadata":{"name":"w"},"spec":{"replicas":5}})");
  prepareForUpdate(scaled, old, true, true);
  EXPECT_EQ(scaled["metadata"]["generation"], 4);
  EXPECT_EQ(scaled["metadata"]["creationTimestamp"], "t");
}

TEST(PrepareForStatusUpdate, OnlyTheStatusChanges) {
  json old = json::parse(R"({"metadata":{"name":"p","labels":{"a":"b"},"resourceVersion":"5"},
      "spec":{"nodeName":"n1"},"status":{"phase":"Pending"}})");
  json update = json::parse(R"({"metadata":{"name":"p","labels":{},"resourceVersion":"5"},
      "spec":{"nodeName":"n2"},"status":{"phase":"Running"}})");
  prepareForStatusUpdate(update, old);
  EXPECT_EQ(update["spec"]["nodeName"], "n1");
  EXPECT_EQ(update["metadata"]["labels"]["a"], "b");
  EXPECT_EQ(update["status"]["phase"], "Running");
}

TEST(RandomIdentifiers, UuidIsVersion4AndSuffixUsesTheNameAlphabet) {
  std::string uuid = randomUuid();
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos);
  EXPECT_NE(randomUuid(), uuid);
  std::string suffix = randomNameSuffix(5);
  ASSERT_EQ(suffix.size(), 5u);
  for (char c : suffix) {
    EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(c), std::string::npos);
  }
}

}  // namespace
}  // namespace rampart::api
