#include "api/selector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {

LabelSelector parsed(std::string_view text) {
  auto s = parseLabelSelector(text);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message);
  return s ? *s : LabelSelector{};
}

TEST(LabelSelector, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(parsed("").matches({}));
  EXPECT_TRUE(parsed("  ").matches({{"app", "web"}}));
}

TEST(LabelSelector, EqualityAndInequalityTreatAnAbsentLabelAsNotEqual) {
  Labels web{{"app", "web"}, {"tier", "front"}};
  Labels none{};
  EXPECT_TRUE(parsed("app=web").matches(web));
  EXPECT_TRUE(parsed("app==web,tier=front").matches(web));
  EXPECT_FALSE(parsed("app=web,tier=back").matches(web));
  EXPECT_FALSE(parsed("app!=web").matches(web));
  EXPECT_TRUE(parsed("app!=web").matches(none));
  EXPECT_FALSE(parsed("app=web").matches(none));
}

TEST(LabelSelector, SetBasedRequirementsAndExistence) {
  Labels web{{"app", "web"}, {"zone", "b"}};
  EXPECT_TRUE(parsed("zone in (a, b)").matches(web));
  EXPECT_FALSE(parsed("zone notin (a,b)").matches(web));
  EXPECT_TRUE(parsed("zone notin (a,c),env notin (prod)").matches(web));
  EXPECT_TRUE(parsed("app").matches(web));
  EXPECT_FALSE(parsed("!app").matches(web));
  EXPECT_TRUE(parsed("!env,app").matches(web));
}

TEST(LabelSelector, NumericComparisons) {
  EXPECT_TRUE(parsed("gen>3").matches({{"gen", "4"}}));
  EXPECT_FALSE(parsed("gen>3").matches({{"gen", "3"}}));
  EXPECT_TRUE(parsed("gen<3").matches({{"gen", "-1"}}));
  EXPECT_FALSE(parsed("gen<3").matches({{"gen", "x"}}));
  EXPECT_FALSE(parseLabelSelector("gen>x"));
}

TEST(LabelSelector, PrefixedKeysAreAccepted) {
  EXPECT_TRUE(
      parsed("topology.kubernetes.io/zone=a").matches({{"topology.kubernetes.io/zone", "a"}}));
}

TEST(LabelSelector, MalformedSelectorsAreRejectedWithTheReason) {
  for (const char* bad : {"app=", "=web", "app in", "app in (a", "app in a", "app web", "!app=x",
                          "app=web,", "-app=web", "app=we b", "Bad_Prefix/x=y"}) {
    auto s = parseLabelSelector(bad);
    if (std::string_view(bad) == "app=") {
      EXPECT_TRUE(s) << bad;  // selects the empty value, as Kubernetes does
      continue;
    }
    EXPECT_FALSE(s) << bad;
  }
  auto s = parseLabelSelector("app=-web");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("a valid label must be an empty string"), std::string::npos);
}

TEST(LabelSelector, CanonicalTextIsSortedByKey) {
  EXPECT_EQ(parsed("zone in (b,a),app=web,!env").toString(), "app=web,!env,zone in (a,b)");
}

TEST(LabelSelector, FromMatchLabelsAndMatchExpressions) {
  auto json = nlohmann::json::parse(R"({"matchLabels":{"app":"web"},
      "matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]},
                          {"key":"canary","operator":"DoesNotExist"}]})");
  auto s = labelSelectorFromJson(json, "spec.selector");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->matches({{"app", "web"}, {"zone", "a"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"zone", "c"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"zone", "a"}, {"canary", "1"}}));
}

TEST(LabelSelector, InvalidSelectorObjectNamesTheField) {
  auto s = labelSelectorFromJson(
      nlohmann::json::parse(R"({"matchExpressions":[{"key":"zone","operator":"In"}]})"),
      "spec.selector");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("spec.selector.matchExpressions[0].values: Required value", 0),
            0u)
      << s.error().message;
  s = labelSelectorFromJson(
      nlohmann::json::parse(R"({"matchExpressions":[{"key":"z","operator":"Near"}]})"),
      "spec.selector");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("spec.selector.matchExpressions[0].operator"),
            std::string::npos);
}

TEST(LabelKey, LongNamesAndBadPrefixesAreRejected) {
  EXPECT_TRUE(validateLabelKey("app.kubernetes.io/name"));
  EXPECT_FALSE(validateLabelKey(std::string(64, 'a')));
  EXPECT_FALSE(validateLabelKey("/name"));
  EXPECT_FALSE(validateLabelKey("Example.com/name"));
  EXPECT_FALSE(validateLabelKey("example.com/"));
  EXPECT_TRUE(validateLabelValue(""));
  EXPECT_FALSE(validateLabelValue("a b"));
}

TEST(FieldSelector, EqualityOnNamedFields) {
  auto s = parseFieldSelector("spec.nodeName=n1,status.phase!=Succeeded");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->matches({{"spec.nodeName", "n1"}, {"status.phase", "Running"}}));
  EXPECT_FALSE(s->matches({{"spec.nodeName", "n1"}, {"status.phase", "Succeeded"}}));
  EXPECT_FALSE(s->matches({{"spec.nodeName", "n2"}, {"status.phase", "Running"}}));
}

TEST(FieldSelector, EmptyValueSelectsUnsetFields) {
  auto s = parseFieldSelector("spec.nodeName=");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->matches({}));
  EXPECT_FALSE(s->matches({{"spec.nodeName", "n1"}}));
}

TEST(FieldSelector, EscapedSeparatorsBelongToTheValue) {
  auto s = parseFieldSelector(R"(metadata.name=a\,b\=c)");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->requirements().size(), 1u);
  EXPECT_EQ(s->requirements()[0].value, "a,b=c");
}

TEST(FieldSelector, TermsWithoutAnOperatorAreRejected) {
  EXPECT_FALSE(parseFieldSelector("metadata.name"));
  EXPECT_FALSE(parseFieldSelector("=x"));
  EXPECT_FALSE(parseFieldSelector("a=b=c"));
}

}  // namespace
}  // namespace rampart::api
