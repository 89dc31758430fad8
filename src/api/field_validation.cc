#include "api/field_validation.h"

#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "api/schema.h"
#include "api/table.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

// A schema with the definition it came from (empty for an inline one).
struct Resolved {
  const json* schema;
  std::string name;
};

Resolved resolve(const json& property) {
  const json* s = &property;
  std::string name;
  for (int depth = 0; depth < 4; ++depth) {
    if (auto all = s->find("allOf"); all != s->end() && all->is_array() && all->size() == 1) {
      s = &(*all)[0];
      continue;
    }
    if (auto ref = s->find("$ref"); ref != s->end() && ref->is_string()) {
      name = ref->get<std::string>().substr(kSchemaRefPrefix.size());
      s = &resolveSchema(*s);
      continue;
    }
    break;
  }
  return {s, name};
}

std::string shortName(const std::string& definition) {
  return definition.substr(definition.rfind('.') + 1);
}

// The Go type kube-apiserver decodes a value into, for Go's error message.
std::string goType(const json& property) {
  Resolved r = resolve(property);
  const json& s = *r.schema;
  if (r.name.ends_with(".Quantity")) {
    return "resource.Quantity";
  }
  if (r.name.ends_with(".IntOrString")) {
    return "intstr.IntOrString";
  }
  if (!r.name.empty() && (s.contains("properties") || s.value("format", "") == "date-time")) {
    return "v1." + shortName(r.name);
  }
  std::string type = s.value("type", "");
  if (type == "array") {
    return "[]" + goType(s["items"]);
  }
  if (type == "object" && s.contains("additionalProperties")) {
    return "map[string]" + goType(s["additionalProperties"]);
  }
  if (type == "integer") {
    return s.value("format", "int64");
  }
  if (type == "boolean") {
    return "bool";
  }
  if (type == "number") {
    return "float64";
  }
  if (type == "string") {
    return s.value("format", "") == "byte" ? "[]uint8" : "string";
  }
  return "interface {}";
}

// How Go's decoder names a JSON value in "cannot unmarshal <value>".
std::string goValue(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "number";
  }
}

bool isBase64(const std::string& s) {
  if (s.size() % 4 != 0) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool pad = c == '=' && i + 2 >= s.size() && (i + 1 == s.size() || s[i + 1] == '=');
    if (!alnum && c != '+' && c != '/' && !pad) {
      return false;
    }
  }
  return true;
}

class Walker {
 public:
  explicit Walker(std::vector<std::string>& problems) : problems_(problems) {}

  // `display`: the path with list indexes, as in field errors; `go_path`: the dotted path of
  // JSON keys without indexes and `go_struct` the innermost struct, as Go's decoder reports them.
  Result<void> walk(json& value, const json& property, const std::string& display,
                    const std::string& go_path, const std::string& go_struct) {
    if (value.is_null()) {
      return ok();
    }
    Resolved r = resolve(property);
    const json& s = *r.schema;
    auto mismatch = [&](std::string what) -> Result<void> {
      return fail(ErrorCode::InvalidArgument, "json: cannot unmarshal ", what,
                  " into Go struct field ", go_struct, ".", go_path, " of type ", goType(property));
    };
    if (auto props = s.find("properties"); props != s.end()) {
      if (!value.is_object()) {
        return mismatch(goValue(value));
      }
      std::vector<std::string> unknown;
      for (auto& [key, child] : value.items()) {
        std::string child_display = display.empty() ? key : display + "." + key;
        auto p = props->find(key);
        if (p == props->end()) {
          unknown.push_back(key);
          problems_.push_back("unknown field \"" + child_display + "\"");
          continue;
        }
        std::string child_go = go_path.empty() ? key : go_path + "." + key;
        auto walked = walk(child, *p, child_display, child_go, shortName(r.name));
        if (!walked) {
          return walked;
        }
      }
      for (const auto& key : unknown) {
        value.erase(key);
      }
      return ok();
    }
    if (auto one_of = s.find("oneOf"); one_of != s.end()) {
      bool int_or_string = s.value("x-kubernetes-int-or-string", false);
      if (value.is_string() || value.is_number_integer()) {
        return ok();
      }
      if (value.is_number() && !int_or_string) {
        return ok();
      }
      return mismatch(value.is_number() ? "number " + value.dump() : goValue(value));
    }
    std::string type = s.value("type", "");
    if (type == "array") {
      if (!value.is_array()) {
        return mismatch(goValue(value));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        auto walked =
            walk(value[i], s["items"], display + "[" + std::to_string(i) + "]", go_path, go_struct);
        if (!walked) {
          return walked;
        }
      }
      return ok();
    }
    if (type == "object") {
      if (!value.is_object()) {
        return mismatch(goValue(value));
      }
      auto values = s.find("additionalProperties");
      if (values == s.end() || !values->is_object()) {
        return ok();  // free-form (RawExtension, FieldsV1)
      }
      for (auto& [key, child] : value.items()) {
        auto walked = walk(child, *values, display + "." + key, go_path, go_struct);
        if (!walked) {
          return walked;
        }
      }
      return ok();
    }
    if (type == "string") {
      if (!value.is_string()) {
        return mismatch(goValue(value));
      }
      const std::string& text = value.get_ref<const std::string&>();
      std::string format = s.value("format", "");
      if (format == "byte" && !isBase64(text)) {
        return fail(ErrorCode::InvalidArgument, "illegal base64 data at input byte 0");
      }
      // Time and MicroTime decode with Go's RFC 3339 parser; a bad one fails the request.
      if (format == "date-time" && !parseRfc3339(text)) {
        return fail(ErrorCode::InvalidArgument, "parsing time \"", text,
                    "\" as \"2006-01-02T15:04:05Z07:00\": cannot parse it as RFC 3339");
      }
      return ok();
    }
    if (type == "integer") {
      if (!value.is_number()) {
        return mismatch(goValue(value));
      }
      if (!value.is_number_integer()) {
        return mismatch("number " + value.dump());
      }
      bool is32 = s.value("format", "") == "int32";
      if (value.is_number_unsigned()) {
        if (value.get<uint64_t>() >
            static_cast<uint64_t>(is32 ? std::numeric_limits<int32_t>::max()
                                       : std::numeric_limits<int64_t>::max())) {
          return mismatch("number " + value.dump());
        }
      } else if (is32 && (value.get<int64_t>() < std::numeric_limits<int32_t>::min() ||
                          value.get<int64_t>() > std::numeric_limits<int32_t>::max())) {
        return mismatch("number " + value.dump());
      }
      return ok();
    }
    if (type == "boolean" && !value.is_boolean()) {
      return mismatch(goValue(value));
    }
    if (type == "number" && !value.is_number()) {
      return mismatch(goValue(value));
    }
    return ok();
  }

 private:
  std::vector<std::string>& problems_;
};

}  // namespace

Result<FieldValidation> parseFieldValidation(std::string_view value) {
  if (value.empty() || value == "Warn") {
    return FieldValidation::Warn;
  }
  if (value == "Strict") {
    return FieldValidation::Strict;
  }
  if (value == "Ignore") {
    return FieldValidation::Ignore;
  }
  return fail(ErrorCode::InvalidArgument, "fieldValidation: Unsupported value: \"", value,
              "\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
}

Result<json> parseJsonCheckingDuplicates(std::string_view text,
                                         std::vector<std::string>& problems) {
  struct Frame {
    bool array = false;
    size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  auto pathTo = [&](const std::string& key) {
    std::string path;
    for (size_t i = 0; i + 1 < stack.size(); ++i) {
      if (stack[i].array) {
        path += "[" + std::to_string(stack[i].index) + "]";
      } else {
        path += (path.empty() ? "" : ".") + stack[i].key;
      }
    }
    return path + (path.empty() ? "" : ".") + key;
  };
  auto element_done = [&] {
    if (!stack.empty() && stack.back().array) {
      ++stack.back().index;
    }
  };
  json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back(Frame{});
        break;
      case json::parse_event_t::array_start:
        stack.push_back(Frame{true, 0, "", {}});
        break;
      case json::parse_event_t::key: {
        Frame& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          problems.push_back("duplicate field \"" + pathTo(f.key) + "\"");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  json parsed = json::parse(text, callback, false);
  if (parsed.is_discarded()) {
    return fail(ErrorCode::InvalidArgument, "the body is not valid JSON");
  }
  return parsed;
}

Result<void> pruneUnknownFields(json& object, const std::string& schema_name,
                                std::vector<std::string>& problems) {
  const json& definitions = schemaDefinitions();
  auto it = definitions.find(schema_name);
  if (it == definitions.end()) {
    return fail(ErrorCode::Internal, "no schema named ", schema_name);
  }
  json property = {{"$ref", std::string(kSchemaRefPrefix) + schema_name}};
  return Walker(problems).walk(object, property, "", "", shortName(schema_name));
}

std::string strictDecodingError(const std::vector<std::string>& problems) {
  std::string joined;
  for (const auto& p : problems) {
    joined += (joined.empty() ? "" : ", ") + p;
  }
  return "strict decoding error: " + joined;
}

std::string strictDecodingMessage(const std::string& kind, const std::string& version,
                                  const std::vector<std::string>& problems) {
  return kind + " in version \"" + version + "\" cannot be handled as a " + kind + ": " +
         strictDecodingError(problems);
}

}  // namespace rampart::api
