#include "api/request_info.h"

#include <gtest/gtest.h>

namespace rampart::api {
namespace {

RequestInfo info(const char* method, const char* target) {
  auto r = parseRequestInfo(method, target);
  EXPECT_TRUE(r) << target << ": " << (r ? "" : r.error().message);
  return r ? *r : RequestInfo{};
}

TEST(RequestInfo, NamespacedObjectWithSubresource) {
  auto r = info("PUT", "/api/v1/namespaces/default/pods/web-1/status");
  EXPECT_TRUE(r.resource_request);
  EXPECT_EQ(r.verb, "update");
  EXPECT_EQ(r.group, "");
  EXPECT_EQ(r.version, "v1");
  EXPECT_EQ(r.ns, "default");
  EXPECT_EQ(r.resource, "pods");
  EXPECT_EQ(r.name, "web-1");
  EXPECT_EQ(r.subresource, "status");
}

TEST(RequestInfo, VerbsFollowMethodNameAndWatch) {
  EXPECT_EQ(info("GET", "/apis/apps/v1/namespaces/d/deployments").verb, "list");
  EXPECT_EQ(info("GET", "/apis/apps/v1/namespaces/d/deployments/web").verb, "get");
  EXPECT_EQ(info("GET", "/apis/apps/v1/deployments?watch=1&resourceVersion=5").verb, "watch");
  EXPECT_EQ(info("GET", "/apis/apps/v1/deployments?watch=true").verb, "watch");
  EXPECT_EQ(info("GET", "/apis/apps/v1/deployments?watch=false").verb, "list");
  EXPECT_EQ(info("POST", "/api/v1/namespaces/d/pods").verb, "create");
  EXPECT_EQ(info("PATCH", "/api/v1/nodes/n1").verb, "patch");
  EXPECT_EQ(info("DELETE", "/api/v1/namespaces/d/pods/p").verb, "delete");
  EXPECT_EQ(info("DELETE", "/api/v1/namespaces/d/pods").verb, "deletecollection");
  EXPECT_FALSE(parseRequestInfo("TRACE", "/api/v1/pods"));
}

TEST(RequestInfo, AllNamespacesAndClusterScopedLists) {
  auto all = info("GET", "/apis/apps/v1/deployments");
  EXPECT_EQ(all.ns, "");
  EXPECT_EQ(all.group, "apps");
  EXPECT_EQ(all.resource, "deployments");
  auto nodes = info("GET", "/api/v1/nodes/n1/status");
  EXPECT_EQ(nodes.resource, "nodes");
  EXPECT_EQ(nodes.name, "n1");
  EXPECT_EQ(nodes.subresource, "status");
}

TEST(RequestInfo, NamespacesAddressThemselves) {
  auto list = info("GET", "/api/v1/namespaces");
  EXPECT_EQ(list.resource, "namespaces");
  EXPECT_EQ(list.verb, "list");
  auto one = info("GET", "/api/v1/namespaces/kube-system");
  EXPECT_EQ(one.resource, "namespaces");
  EXPECT_EQ(one.name, "kube-system");
  EXPECT_EQ(one.ns, "kube-system");
}

TEST(RequestInfo, DiscoveryAndOtherPathsAreNotResourceRequests) {
  for (const char* path : {"/api", "/apis", "/apis/apps", "/api/v1", "/apis/apps/v1", "/version",
                           "/healthz", "/openapi/v3"}) {
    EXPECT_FALSE(info("GET", path).resource_request) << path;
  }
}

TEST(RequestInfo, QueryValuesAreDecoded) {
  auto r = info("GET", "/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+(a)&limit=500");
  EXPECT_EQ(r.query["labelSelector"], "app=web,tier in (a)");
  EXPECT_EQ(r.query["limit"], "500");
}

TEST(RequestInfo, MalformedPathsAndEscapesAreRejected) {
  EXPECT_FALSE(parseRequestInfo("GET", "/api/v1/pods?x=%zz"));
  EXPECT_FALSE(parseRequestInfo("GET", "/api/v1/pods?x=%4"));
  EXPECT_FALSE(parseRequestInfo("GET", "/api/v1/namespaces/d/pods/p/status/extra"));
  EXPECT_FALSE(parseRequestInfo("GET", "/api/v1/namespaces/d/pods/%2e%2e"));
}

}  // namespace
}  // namespace rampart::api
