#include "pg/rest_auth.h"

#include <gtest/gtest.h>

namespace rampart::pg {
namespace {

TEST(SecretMatches, OnlyTheExactSecretMatchesAndAnEmptySecretMatchesNothing) {
  EXPECT_TRUE(secretMatches("s3cret", "s3cret"));
  EXPECT_FALSE(secretMatches("s3cret", "s3cre"));
  EXPECT_FALSE(secretMatches("s3cret", "s3cret2"));
  EXPECT_FALSE(secretMatches("s3cret", "S3cret"));
  EXPECT_FALSE(secretMatches("", ""));
}

TEST(BearerToken, TakesTheTokenOfABearerHeaderOnly) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("bearer abc"), "abc");
  EXPECT_EQ(bearerToken("Basic abc"), "");
  EXPECT_EQ(bearerToken("Bear"), "");
}

TEST(VouchProof, IsBoundToTheCredentialTheLeaderAndTheReceivingMember) {
  auto proof = vouchProof("member-secret", "m1", "m2");
  EXPECT_EQ(proof.size(), 64u);
  EXPECT_EQ(proof.find("member-secret"), std::string::npos);
  EXPECT_TRUE(vouchProofValid("member-secret", "m1", "m2", proof));
  EXPECT_FALSE(vouchProofValid("member-secret", "m1", "m3", proof)) << "replayed at another member";
  EXPECT_FALSE(vouchProofValid("member-secret", "m3", "m2", proof)) << "for another leader";
  EXPECT_FALSE(vouchProofValid("other-secret", "m1", "m2", proof));
  EXPECT_FALSE(vouchProofValid("member-secret", "m1", "m2", proof.substr(1)));
  EXPECT_FALSE(vouchProofValid("member-secret", "m1", "m2", "member-secret"))
      << "the credential itself is not a proof";
  EXPECT_FALSE(vouchProofValid("", "m1", "m2", vouchProof("", "m1", "m2")));
  EXPECT_NE(vouchProof("k", "m1", "1m2"), vouchProof("k", "m11", "m2")) << "fields are delimited";
}

}  // namespace
}  // namespace rampart::pg
