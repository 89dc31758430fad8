#include "controller/disruption.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

Result<int64_t> scaledValue(const json& value, int64_t total, bool round_up) {
  if (value.is_number_integer()) {
    return value.get<int64_t>();
  }
  if (!value.is_string()) {
    return fail(ErrorCode::InvalidArgument, "invalid value for IntOrString: ", value.dump());
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() < 2 || text.back() != '%') {
    return fail(ErrorCode::InvalidArgument,
                "invalid value for IntOrString: invalid type: "
                "string is not a percentage: ",
                text);
  }
  int64_t percent = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, percent);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || percent < 0) {
    return fail(ErrorCode::InvalidArgument, "invalid value for IntOrString: ", text);
  }
  int64_t scaled = percent * total;
  return round_up ? (scaled + 99) / 100 : scaled / 100;
}

Result<BudgetStatus> budgetStatus(const json& budget, const std::vector<json>& matched_pods,
                                  int64_t expected) {
  BudgetStatus s;
  s.expected = expected;
  for (const auto& pod : matched_pods) {
    s.current_healthy += isActivePod(pod) && isPodReady(pod);
  }
  if (budget.contains("/spec/maxUnavailable"_json_pointer)) {
    auto max = scaledValue(budget["/spec/maxUnavailable"_json_pointer], expected, true);
    if (!max) {
      return fail(max.error());
    }
    s.desired_healthy = std::max<int64_t>(0, expected - *max);
  } else if (budget.contains("/spec/minAvailable"_json_pointer)) {
    auto min = scaledValue(budget["/spec/minAvailable"_json_pointer], expected, true);
    if (!min) {
      return fail(min.error());
    }
    s.desired_healthy = *min;
  } else {
    s.desired_healthy = 1;  // Kubernetes' default: minAvailable 1
  }
  s.disruptions_allowed = std::max<int64_t>(0, s.current_healthy - s.desired_healthy);
  return s;
}

bool evictionAllowed(const BudgetStatus& status, const json& pod) {
  if (!isPodReady(pod) || !isActivePod(pod)) {
    return true;
  }
  return status.disruptions_allowed > 0;
}

}  // namespace rampart::controller
