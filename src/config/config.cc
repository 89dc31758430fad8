#include "config/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/duration.h"
#include "runtime/secret_file.h"

namespace rampart::config {

std::string Section::fieldPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string Section::whereOf(const YAML::Node& node) const {
  auto mark = node.Mark();
  if (mark.line < 0) {
    return *file_;
  }
  return *file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string Section::where() const { return whereOf(node_); }

std::string Section::whereIs(std::string_view key) const {
  auto node = node_[std::string(key)];
  return node.IsDefined() ? whereOf(node) : whereOf(node_);
}

Error Section::invalid(const YAML::Node& node, std::string_view key, std::string_view why) const {
  return Error{ErrorCode::InvalidArgument,
               whereOf(node) + ": " + fieldPath(key) + ": " + std::string(why)};
}

namespace {

// The scalar text of a node, or nullopt when it is not a scalar.
std::optional<std::string> scalar(const YAML::Node& node) {
  if (!node.IsScalar()) {
    return std::nullopt;
  }
  return node.Scalar();
}

}  // namespace

Result<std::string> Section::requiredString(std::string_view key) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fail(invalid(node_, key, "required field is missing"));
  }
  auto text = scalar(node);
  if (!text) {
    return fail(invalid(node, key, "expected a string"));
  }
  return *text;
}

Result<std::string> Section::string(std::string_view key, std::string fallback) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  auto text = scalar(node);
  if (!text) {
    return fail(invalid(node, key, "expected a string"));
  }
  return *text;
}

Result<std::string> Section::credential(std::string_view key) const {
  const std::string file_key = std::string(key) + "_file";
  auto token = string(key, "");
  auto file = string(file_key, "");
  if (!token || !file) {
    return fail(!token ? token.error() : file.error());
  }
  auto field = [&](std::string_view k, const std::string& why) {
    return Error{ErrorCode::InvalidArgument, whereIs(k) + ": " + fieldPath(k) + ": " + why};
  };
  if (!token->empty() && !file->empty()) {
    return fail(
        field(file_key, "give either " + std::string(key) + " or " + file_key + ", not both"));
  }
  std::string out = *token;
  if (!file->empty()) {
    auto secret = runtime::readSecretFile(*file);
    if (!secret) {
      return fail(field(file_key, secret.error().message));
    }
    out = std::move(*secret);
  }
  for (char c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fail(field(file->empty() ? key : std::string_view(file_key),
                        "the token holds a control character (a newline or the like)"));
    }
  }
  return out;
}

Result<Duration> Section::duration(std::string_view key, Duration fallback) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  auto text = scalar(node);
  if (!text) {
    return fail(invalid(node, key, "expected a duration such as 100ms or 5s"));
  }
  auto parsed = parseDuration(*text);
  if (!parsed) {
    return fail(invalid(node, key, parsed.error().message));
  }
  return *parsed;
}

Result<int64_t> Section::integer(std::string_view key, int64_t fallback, int64_t min,
                                 int64_t max) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  auto text = scalar(node);
  int64_t value = 0;
  size_t used = 0;
  try {
    value = text ? std::stoll(*text, &used) : 0;
  } catch (const std::exception&) {
    used = 0;
  }
  if (!text || used == 0 || used != text->size()) {
    return fail(invalid(node, key, "expected a whole number, got '" + text.value_or("?") + "'"));
  }
  if (value < min || value > max) {
    return fail(invalid(node, key,
                        "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                            ", got " + std::to_string(value)));
  }
  return value;
}

Result<bool> Section::boolean(std::string_view key, bool fallback) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  auto text = scalar(node);
  if (text == "true" || text == "yes" || text == "on") {
    return true;
  }
  if (text == "false" || text == "no" || text == "off") {
    return false;
  }
  return fail(invalid(node, key, "expected true or false"));
}

Result<std::vector<std::string>> Section::stringList(std::string_view key) const {
  auto node = node_[std::string(key)];
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) {
    return out;
  }
  if (auto text = scalar(node)) {
    out.push_back(*text);
    return out;
  }
  if (!node.IsSequence()) {
    return fail(invalid(node, key, "expected a list of strings"));
  }
  for (const auto& item : node) {
    auto text = scalar(item);
    if (!text) {
      return fail(invalid(item, key, "expected a list of strings"));
    }
    out.push_back(*text);
  }
  return out;
}

Result<std::map<std::string, std::string>> Section::stringMap(std::string_view key) const {
  auto node = node_[std::string(key)];
  std::map<std::string, std::string> out;
  if (!node.IsDefined() || node.IsNull()) {
    return out;
  }
  if (!node.IsMap()) {
    return fail(invalid(node, key, "expected a mapping of names to values"));
  }
  for (const auto& item : node) {
    auto name = scalar(item.first);
    auto value = scalar(item.second);
    if (!name || !value) {
      return fail(invalid(item.second, key, "expected a mapping of names to scalar values"));
    }
    out[*name] = *value;
  }
  return out;
}

Result<net::Endpoint> Section::endpoint(std::string_view key, net::Endpoint fallback) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  auto text = scalar(node);
  if (!text) {
    return fail(invalid(node, key, "expected host:port"));
  }
  auto parsed = net::parseEndpoint(*text);
  if (!parsed) {
    return fail(invalid(node, key, parsed.error().message));
  }
  return *parsed;
}

Result<std::vector<net::Endpoint>> Section::endpointList(std::string_view key) const {
  auto texts = stringList(key);
  if (!texts) {
    return fail(texts.error());
  }
  std::vector<net::Endpoint> out;
  for (const auto& text : *texts) {
    auto parsed = net::parseEndpoint(text);
    if (!parsed) {
      return fail(invalid(node_[std::string(key)], key, parsed.error().message));
    }
    out.push_back(*parsed);
  }
  return out;
}

Result<Section> Section::section(std::string_view key) const {
  auto node = node_[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) {
    return Section(YAML::Node(YAML::NodeType::Map), file_, fieldPath(key));
  }
  if (!node.IsMap()) {
    return fail(invalid(node, key, "expected a mapping"));
  }
  return Section(node, file_, fieldPath(key));
}

Result<std::vector<Section>> Section::sectionList(std::string_view key) const {
  auto node = node_[std::string(key)];
  std::vector<Section> out;
  if (!node.IsDefined() || node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    return fail(invalid(node, key, "expected a list"));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    auto item = node[i];
    std::string item_path = fieldPath(key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      return fail(ErrorCode::InvalidArgument, whereOf(item), ": ", item_path,
                  ": expected a mapping");
    }
    out.emplace_back(item, file_, item_path);
  }
  return out;
}

Result<net::TlsFiles> Section::tls(std::string_view key) const {
  auto block = section(key);
  if (!block) {
    return fail(block.error());
  }
  if (auto r = block->allowOnly({"ca", "cert", "key", "server_name"}); !r) {
    return fail(r.error());
  }
  net::TlsFiles files;
  for (auto [field, out] :
       {std::pair{"ca", &files.ca}, std::pair{"cert", &files.cert}, std::pair{"key", &files.key},
        std::pair{"server_name", &files.server_name}}) {
    auto value = block->string(field, "");
    if (!value) {
      return fail(value.error());
    }
    *out = *value;
  }
  if (files.cert.empty() != files.key.empty()) {
    std::string_view missing = files.cert.empty() ? "cert" : "key";
    return fail(ErrorCode::InvalidArgument, block->where(), ": ", block->path(), ": ",
                "cert and key must be given together (", missing, " is missing)");
  }
  for (auto [field, path] :
       {std::pair{"ca", &files.ca}, std::pair{"cert", &files.cert}, std::pair{"key", &files.key}}) {
    if (path->empty()) {
      continue;
    }
    struct stat st {};
    std::string why;
    if (::stat(path->c_str(), &st) != 0) {
      why = std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
      why = "not a regular file";
    }
    if (!why.empty()) {
      return fail(ErrorCode::InvalidArgument, block->whereIs(field), ": ", block->path(), ".",
                  field, ": ", *path, ": ", why);
    }
  }
  return files;
}

bool Section::has(std::string_view key) const {
  auto node = node_[std::string(key)];
  return node.IsDefined() && !node.IsNull();
}

Result<void> Section::allowOnly(std::initializer_list<std::string_view> allowed) const {
  for (const auto& entry : node_) {
    auto key = entry.first.Scalar();
    bool known = false;
    for (auto a : allowed) {
      known = known || a == key;
    }
    if (!known) {
      std::string list;
      for (auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      return fail(invalid(entry.first, key, "unknown field (known: " + list + ")"));
    }
  }
  return ok();
}

Result<net::Endpoint> adminListen(const Section& root, net::Endpoint fallback) {
  auto admin = root.section("admin");
  if (!admin) {
    return fail(admin.error());
  }
  if (auto r = admin->allowOnly({"listen", "tls"}); !r) {
    return fail(r.error());
  }
  return admin->endpoint("listen", std::move(fallback));
}

Result<net::TlsFiles> adminTls(const Section& root) {
  auto admin = root.section("admin");
  if (!admin) {
    return fail(admin.error());
  }
  auto tls = admin->tls("tls");
  if (tls && !tls->empty() && (tls->cert.empty() || !tls->server_name.empty())) {
    return fail(ErrorCode::InvalidArgument, admin->whereIs("tls"), ": ", admin->path(),
                ".tls: a server needs cert and key (server_name is for clients)");
  }
  return tls;
}

Result<Section> loadString(const std::string& text, const std::string& name) {
  auto file = std::make_shared<const std::string>(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::InvalidArgument, name, ":", std::to_string(e.mark.line + 1), ":",
                std::to_string(e.mark.column + 1), ": invalid YAML: ", e.msg);
  }
  if (root.IsNull()) {
    return Section(YAML::Node(YAML::NodeType::Map), file, "");
  }
  if (!root.IsMap()) {
    return fail(ErrorCode::InvalidArgument, name, ":1:1: expected a mapping at the top level");
  }
  return Section(root, file, "");
}

Result<Section> loadFile(const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    return fail(ErrorCode::NotFound, file, ": cannot open config file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return loadString(ss.str(), file);
}

}  // namespace rampart::config
