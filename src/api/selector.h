#pragma once
// Label and field selectors as the Kubernetes API defines them, for list/watch filtering
// (`?labelSelector=`, `?fieldSelector=`) and for the selectors inside objects (a ReplicaSet's
// `spec.selector`, a Service's `spec.selector`, a PodDisruptionBudget's). Parsing is strict: an
// error names the requirement that failed, as kube-apiserver's message does, so kubectl shows the
// user what to fix. Pure values; thread-compatible.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::api {

using Labels = std::map<std::string, std::string>;

struct LabelRequirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;  // sorted, no duplicates

  bool matches(const Labels& labels) const;
};

// A conjunction of requirements; the empty selector matches everything.
class LabelSelector {
 public:
  LabelSelector() = default;
  explicit LabelSelector(std::vector<LabelRequirement> requirements)
      : requirements_(std::move(requirements)) {}

  bool matches(const Labels& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }
  // The canonical text form (`app=web,tier in (a,b)`), as Kubernetes prints it.
  std::string toString() const;

 private:
  std::vector<LabelRequirement> requirements_;
};

// The query syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3`.
Result<LabelSelector> parseLabelSelector(std::string_view text);
// A metav1.LabelSelector object ({matchLabels, matchExpressions}); `path` names the field in
// errors ("spec.selector").
Result<LabelSelector> labelSelectorFromJson(const nlohmann::json& selector,
                                            const std::string& path);
// A plain map selector (a Service's or a ReplicationController's `spec.selector`).
LabelSelector labelSelectorFromMap(const Labels& labels);

// Label keys are qualified names (an optional DNS-subdomain prefix and '/', then a name of at
// most 63 characters); values are at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both
// ends, or empty. The error text is Kubernetes' ("name part must consist of ...").
Result<void> validateLabelKey(std::string_view key);
Result<void> validateLabelValue(std::string_view value);

// A field selector: `metadata.name=x,spec.nodeName!=,status.phase==Running`. Values may escape
// `\`, `,` and `=` with a backslash.
struct FieldRequirement {
  std::string field;
  bool equals = true;  // false: !=
  std::string value;
};

class FieldSelector {
 public:
  FieldSelector() = default;
  explicit FieldSelector(std::vector<FieldRequirement> requirements)
      : requirements_(std::move(requirements)) {}

  // `fields` maps each supported field label to the object's value ("" when absent).
  bool matches(const std::map<std::string, std::string>& fields) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<FieldRequirement> requirements_;
};

Result<FieldSelector> parseFieldSelector(std::string_view text);

}  // namespace rampart::api
