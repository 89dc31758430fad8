#include "controller/statefulset_history.h"

#include <algorithm>
#include <set>

#include "controller/statefulset.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

std::string str(const json& object, const json::json_pointer& at) {
  return object.contains(at) && object[at].is_string() ? object[at].get<std::string>() : "";
}

int64_t number(const json& object, const json::json_pointer& at, int64_t fallback) {
  return object.contains(at) && object[at].is_number_integer() ? object[at].get<int64_t>()
                                                               : fallback;
}

}  // namespace

json revisionData(const json& set) {
  json tmpl = set.value("/spec/template"_json_pointer, json::object());
  tmpl["$patch"] = "replace";
  return {{"spec", {{"template", std::move(tmpl)}}}};
}

RevisionDecision decideRevisions(const json& set, const std::vector<json>& revisions,
                                 const std::vector<json>& pods) {
  RevisionDecision d;
  std::string set_name = str(set, "/metadata/name"_json_pointer);
  std::string update = templateRevision(set);
  int64_t highest = 0;
  const json* existing = nullptr;
  for (const auto& r : revisions) {
    highest = std::max(highest, number(r, "/revision"_json_pointer, 0));
    if (str(r, "/metadata/name"_json_pointer) == update) {
      existing = &r;
    }
  }
  if (existing == nullptr) {
    json labels = set.value("/spec/template/metadata/labels"_json_pointer, json::object());
    labels[kRevisionLabel] = update.substr(std::min(update.size(), set_name.size() + 1));
    d.create =
        json{{"apiVersion", "apps/v1"},
             {"kind", "ControllerRevision"},
             {"metadata",
              {{"name", update},
               {"namespace", str(set, "/metadata/namespace"_json_pointer)},
               {"labels", std::move(labels)},
               {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                 {"kind", "StatefulSet"},
                                                 {"name", set_name},
                                                 {"uid", str(set, "/metadata/uid"_json_pointer)},
                                                 {"controller", true},
                                                 {"blockOwnerDeletion", true}}})}}},
             {"data", revisionData(set)},
             {"revision", highest + 1}};
    d.reason = "new revision " + update;
  } else if (number(*existing, "/revision"_json_pointer, 0) < highest) {
    // The template went back to an older revision (an undo): it becomes the newest.
    d.renumber = update;
    d.renumber_to = highest + 1;
    d.reason = "revision " + update + " is current again";
  }

  // Live revisions are never pruned: the update revision, the current one, the pods'.
  std::set<std::string> live = {update, str(set, "/status/currentRevision"_json_pointer)};
  for (const auto& pod : pods) {
    live.insert(str(pod, "/metadata/labels/controller-revision-hash"_json_pointer));
  }
  std::vector<const json*> history;
  for (const auto& r : revisions) {
    if (live.count(str(r, "/metadata/name"_json_pointer)) == 0) {
      history.push_back(&r);
    }
  }
  int64_t limit = std::max<int64_t>(0, number(set, "/spec/revisionHistoryLimit"_json_pointer, 10));
  if (static_cast<int64_t>(history.size()) > limit) {
    std::sort(history.begin(), history.end(), [](const json* a, const json* b) {
      return number(*a, "/revision"_json_pointer, 0) < number(*b, "/revision"_json_pointer, 0);
    });
    size_t excess = history.size() - static_cast<size_t>(limit);
    for (size_t i = 0; i < excess; ++i) {
      d.remove.push_back(str(*history[i], "/metadata/name"_json_pointer));
    }
    d.reason += (d.reason.empty() ? "" : ", ") + std::string("pruning ") + std::to_string(excess) +
                " old revision(s)";
  }
  return d;
}

}  // namespace rampart::controller
