#include "api/yaml.h"

#include <charconv>
#include <regex>

#include <yaml-cpp/yaml.h>

namespace rampart::api {
using json = nlohmann::json;

namespace {

json plainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(text, kInt)) {
    int64_t n = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size()) {
      return n;
    }
  }
  if (std::regex_match(text, kFloat)) {
    return std::stod(text);
  }
  return text;
}

json convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      return node.Tag() == "?" ? plainScalar(node.Scalar()) : json(node.Scalar());
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(convert(item));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) {
        out[item.first.as<std::string>()] = convert(item.second);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

Result<json> yamlToJson(std::string_view text) {
  try {
    auto documents = YAML::LoadAll(std::string(text));
    if (documents.size() != 1) {
      return fail(ErrorCode::InvalidArgument, "expected one YAML document, found ",
                  std::to_string(documents.size()));
    }
    return convert(documents.front());
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::InvalidArgument, "yaml: line ", std::to_string(e.mark.line + 1),
                ", column ", std::to_string(e.mark.column + 1), ": ", e.msg);
  }
}

}  // namespace rampart::api
