#include "api/selector.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool isNamePart(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A lowercase RFC 1123 subdomain: [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (label.empty() || label.size() > 63 || !lower_alnum(label.front()) ||
        !lower_alnum(label.back()) || !std::all_of(label.begin(), label.end(), [&](char c) {
          return lower_alnum(c) || c == '-';
        })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return true;
}

const char* kNameRule =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const char* kValueRule =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
    "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

// The label selector's tokens.
enum class Tok {
  End,
  Ident,
  Equals,
  DoubleEquals,
  NotEquals,
  Bang,
  In,
  NotIn,
  Open,
  Close,
  Comma,
  Greater,
  Less
};

struct Token {
  Tok kind = Tok::End;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
    if (pos_ >= s_.size()) {
      return {Tok::End, ""};
    }
    char c = s_[pos_];
    auto one = [&](Tok t) {
      ++pos_;
      return Token{t, std::string(1, c)};
    };
    switch (c) {
      case '(':
        return one(Tok::Open);
      case ')':
        return one(Tok::Close);
      case ',':
        return one(Tok::Comma);
      case '>':
        return one(Tok::Greater);
      case '<':
        return one(Tok::Less);
      case '=':
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '=') {
          pos_ += 2;
          return {Tok::DoubleEquals, "=="};
        }
        return one(Tok::Equals);
      case '!':
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '=') {
          pos_ += 2;
          return {Tok::NotEquals, "!="};
        }
        return one(Tok::Bang);
      default:
        break;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
           std::string_view("()=!,<>").find(s_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    std::string word(s_.substr(start, pos_ - start));
    if (word == "in") {
      return {Tok::In, word};
    }
    if (word == "notin") {
      return {Tok::NotIn, word};
    }
    return {Tok::Ident, word};
  }

  Token peek() {
    size_t saved = pos_;
    Token t = next();
    pos_ = saved;
    return t;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool isInteger(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

Result<LabelRequirement> makeRequirement(std::string key, LabelRequirement::Op op,
                                         std::vector<std::string> values) {
  using Op = LabelRequirement::Op;
  if (auto k = validateLabelKey(key); !k) {
    return fail(ErrorCode::InvalidArgument, "unable to parse requirement: key: Invalid value: \"",
                key, "\": ", k.error().message);
  }
  if ((op == Op::In || op == Op::NotIn) && values.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "unable to parse requirement: values: Invalid value: []: for 'in', 'notin' "
                "operators, values set can't be empty");
  }
  if ((op == Op::GreaterThan || op == Op::LessThan) &&
      (values.size() != 1 || !isInteger(values[0]))) {
    return fail(ErrorCode::InvalidArgument,
                "unable to parse requirement: values: Invalid value: for 'Gt', 'Lt' operators, "
                "the value must be an integer");
  }
  if (op != Op::GreaterThan && op != Op::LessThan) {
    for (const auto& v : values) {
      if (auto ok = validateLabelValue(v); !ok) {
        return fail(ErrorCode::InvalidArgument,
                    "unable to parse requirement: values[0]: Invalid value: \"", v,
                    "\": ", ok.error().message);
      }
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return LabelRequirement{std::move(key), op, std::move(values)};
}

std::string opText(LabelRequirement::Op op) {
  using Op = LabelRequirement::Op;
  switch (op) {
    case Op::Equals:
      return "=";
    case Op::NotEquals:
      return "!=";
    case Op::In:
      return " in ";
    case Op::NotIn:
      return " notin ";
    case Op::GreaterThan:
      return ">";
    case Op::LessThan:
      return "<";
    case Op::Exists:
    case Op::DoesNotExist:
      break;
  }
  return "";
}

}  // namespace

Result<void> validateLabelKey(std::string_view key) {
  std::string_view name = key;
  auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      return fail(ErrorCode::InvalidArgument, "prefix part must be non-empty");
    }
    if (!isDnsSubdomain(prefix)) {
      return fail(ErrorCode::InvalidArgument,
                  "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                  "alphanumeric characters, '-' or '.', and must start and end with an "
                  "alphanumeric character (e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
  }
  if (name.empty()) {
    return fail(ErrorCode::InvalidArgument, "name part must be non-empty");
  }
  if (name.size() > 63) {
    return fail(ErrorCode::InvalidArgument, "name part must be no more than 63 characters");
  }
  if (!isNamePart(name)) {
    return fail(ErrorCode::InvalidArgument, kNameRule);
  }
  return ok();
}

Result<void> validateLabelValue(std::string_view value) {
  if (value.size() > 63) {
    return fail(ErrorCode::InvalidArgument, "must be no more than 63 characters");
  }
  if (!value.empty() && !isNamePart(value)) {
    return fail(ErrorCode::InvalidArgument, kValueRule);
  }
  return ok();
}

bool LabelRequirement::matches(const Labels& labels) const {
  auto it = labels.find(key);
  bool has = it != labels.end();
  auto in_values = [&] {
    return has && std::binary_search(values.begin(), values.end(), it->second);
  };
  switch (op) {
    case Op::Equals:
    case Op::In:
      return in_values();
    case Op::NotEquals:
    case Op::NotIn:
      return !in_values();  // an absent label is "not equal" (Kubernetes' semantics)
    case Op::Exists:
      return has;
    case Op::DoesNotExist:
      return !has;
    case Op::GreaterThan:
    case Op::LessThan: {
      int64_t have = 0;
      int64_t want = 0;
      if (!has || !isInteger(it->second)) {
        return false;
      }
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), have);
      std::from_chars(values[0].data(), values[0].data() + values[0].size(), want);
      return op == Op::GreaterThan ? have > want : have < want;
    }
  }
  return false;
}

bool LabelSelector::matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelRequirement& r) { return r.matches(labels); });
}

std::string LabelSelector::toString() const {
  using Op = LabelRequirement::Op;
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) {
      out += ",";
    }
    if (r.op == Op::DoesNotExist) {
      out += "!";
    }
    out += r.key;
    out += opText(r.op);
    if (r.op == Op::In || r.op == Op::NotIn) {
      out += "(";
      for (size_t i = 0; i < r.values.size(); ++i) {
        out += (i ? "," : "") + r.values[i];
      }
      out += ")";
    } else if (!r.values.empty()) {
      out += r.values[0];
    }
  }
  return out;
}

Result<LabelSelector> parseLabelSelector(std::string_view text) {
  using Op = LabelRequirement::Op;
  Lexer lex(text);
  std::vector<LabelRequirement> out;
  if (lex.peek().kind == Tok::End) {
    return LabelSelector{};
  }
  for (;;) {
    Token t = lex.next();
    bool negated = false;
    if (t.kind == Tok::Bang) {
      negated = true;
      t = lex.next();
    }
    if (t.kind != Tok::Ident) {
      return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '", t.text,
                  "', expected: identifier");
    }
    std::string key = t.text;
    Token op = lex.peek();
    if (negated || op.kind == Tok::Comma || op.kind == Tok::End) {
      if (negated && op.kind != Tok::Comma && op.kind != Tok::End) {
        return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '", op.text,
                    "', expected: ',' or 'end of string'");
      }
      auto r = makeRequirement(key, negated ? Op::DoesNotExist : Op::Exists, {});
      if (!r) {
        return fail(r.error());
      }
      out.push_back(std::move(*r));
    } else {
      lex.next();
      Op kind;
      std::vector<std::string> values;
      switch (op.kind) {
        case Tok::Equals:
        case Tok::DoubleEquals:
        case Tok::NotEquals:
        case Tok::Greater:
        case Tok::Less: {
          kind = op.kind == Tok::NotEquals ? Op::NotEquals
                 : op.kind == Tok::Greater ? Op::GreaterThan
                 : op.kind == Tok::Less    ? Op::LessThan
                                           : Op::Equals;
          Token v = lex.peek();
          if (v.kind == Tok::Ident) {
            lex.next();
            values.push_back(v.text);
          } else if (v.kind == Tok::Comma || v.kind == Tok::End) {
            values.push_back("");  // `a=` selects the empty value
          } else {
            return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '", v.text,
                        "', expected: identifier");
          }
          break;
        }
        case Tok::In:
        case Tok::NotIn: {
          kind = op.kind == Tok::In ? Op::In : Op::NotIn;
          if (Token open = lex.next(); open.kind != Tok::Open) {
            return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '",
                        open.text, "', expected: '('");
          }
          for (;;) {
            Token v = lex.next();
            if (v.kind == Tok::Close && values.empty()) {
              break;
            }
            if (v.kind == Tok::Ident) {
              values.push_back(v.text);
              v = lex.next();
            } else if (v.kind == Tok::Comma || v.kind == Tok::Close) {
              values.push_back("");
            } else {
              return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '",
                          v.text, "', expected: ',', ')' or identifier");
            }
            if (v.kind == Tok::Close) {
              break;
            }
            if (v.kind != Tok::Comma) {
              return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '",
                          v.text, "', expected: ',' or ')'");
            }
          }
          break;
        }
        default:
          return fail(ErrorCode::InvalidArgument, "unable to parse requirement: found '", op.text,
                      "', expected: in, notin, =, ==, !=, gt, lt");
      }
      auto r = makeRequirement(key, kind, std::move(values));
      if (!r) {
        return fail(r.error());
      }
      out.push_back(std::move(*r));
    }
    Token sep = lex.next();
    if (sep.kind == Tok::End) {
      break;
    }
    if (sep.kind != Tok::Comma) {
      return fail(ErrorCode::InvalidArgument, "found '", sep.text,
                  "', expected: ',' or 'end of string'");
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
  return LabelSelector(std::move(out));
}

Result<LabelSelector> labelSelectorFromJson(const nlohmann::json& selector,
                                            const std::string& path) {
  using Op = LabelRequirement::Op;
  std::vector<LabelRequirement> out;
  if (selector.is_null()) {
    return LabelSelector{};
  }
  if (!selector.is_object()) {
    return fail(ErrorCode::InvalidArgument, path, ": Invalid value: must be an object");
  }
  if (auto ml = selector.find("matchLabels"); ml != selector.end() && !ml->is_null()) {
    if (!ml->is_object()) {
      return fail(ErrorCode::InvalidArgument, path, ".matchLabels: Invalid value: must be a map");
    }
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string()) {
        return fail(ErrorCode::InvalidArgument, path, ".matchLabels.", k,
                    ": Invalid value: must be a string");
      }
      auto r = makeRequirement(k, Op::Equals, {v.get<std::string>()});
      if (!r) {
        return fail(ErrorCode::InvalidArgument, path, ".matchLabels: ", r.error().message);
      }
      out.push_back(std::move(*r));
    }
  }
  if (auto me = selector.find("matchExpressions"); me != selector.end() && !me->is_null()) {
    if (!me->is_array()) {
      return fail(ErrorCode::InvalidArgument, path,
                  ".matchExpressions: Invalid value: must be a list");
    }
    for (size_t i = 0; i < me->size(); ++i) {
      const auto& e = (*me)[i];
      std::string at = path + ".matchExpressions[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string() ||
          !e.contains("operator") || !e["operator"].is_string()) {
        return fail(ErrorCode::InvalidArgument, at,
                    ": Invalid value: needs string fields key and operator");
      }
      std::string op = e["operator"].get<std::string>();
      std::vector<std::string> values;
      if (auto vs = e.find("values"); vs != e.end() && !vs->is_null()) {
        if (!vs->is_array()) {
          return fail(ErrorCode::InvalidArgument, at, ".values: Invalid value: must be a list");
        }
        for (const auto& v : *vs) {
          if (!v.is_string()) {
            return fail(ErrorCode::InvalidArgument, at, ".values: Invalid value: must be strings");
          }
          values.push_back(v.get<std::string>());
        }
      }
      Op kind;
      if (op == "In" || op == "NotIn") {
        kind = op == "In" ? Op::In : Op::NotIn;
        if (values.empty()) {
          return fail(ErrorCode::InvalidArgument, at,
                      ".values: Required value: must be specified when `operator` is 'In' or "
                      "'NotIn'");
        }
      } else if (op == "Exists" || op == "DoesNotExist") {
        kind = op == "Exists" ? Op::Exists : Op::DoesNotExist;
        if (!values.empty()) {
          return fail(ErrorCode::InvalidArgument, at,
                      ".values: Forbidden: may not be specified when `operator` is 'Exists' or "
                      "'DoesNotExist'");
        }
      } else {
        return fail(ErrorCode::InvalidArgument, at, ".operator: Invalid value: \"", op,
                    "\": not a valid selector operator");
      }
      auto r = makeRequirement(e["key"].get<std::string>(), kind, std::move(values));
      if (!r) {
        return fail(ErrorCode::InvalidArgument, at, ": ", r.error().message);
      }
      out.push_back(std::move(*r));
    }
  }
  return LabelSelector(std::move(out));
}

LabelSelector labelSelectorFromMap(const Labels& labels) {
  std::vector<LabelRequirement> out;
  for (const auto& [k, v] : labels) {
    out.push_back({k, LabelRequirement::Op::Equals, {v}});
  }
  return LabelSelector(std::move(out));
}

bool FieldSelector::matches(const std::map<std::string, std::string>& fields) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const FieldRequirement& r) {
    auto it = fields.find(r.field);
    const std::string& have = it == fields.end() ? std::string() : it->second;
    return (have == r.value) == r.equals;
  });
}

Result<FieldSelector> parseFieldSelector(std::string_view text) {
  std::vector<FieldRequirement> out;
  // Split on unescaped commas, then each term on its first unescaped operator.
  std::vector<std::string> terms;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      current += text[i];
      current += text[++i];
    } else if (text[i] == ',') {
      terms.push_back(std::move(current));
      current.clear();
    } else {
      current += text[i];
    }
  }
  if (!current.empty() || !terms.empty()) {
    terms.push_back(std::move(current));
  }
  for (const auto& term : terms) {
    if (term.empty()) {
      continue;
    }
    size_t op = std::string::npos;
    size_t op_len = 0;
    bool equals = true;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term.compare(i, 2, "!=") == 0) {
        op = i, op_len = 2, equals = false;
      } else if (term.compare(i, 2, "==") == 0) {
        op = i, op_len = 2;
      } else if (term[i] == '=') {
        op = i, op_len = 1;
      } else {
        continue;
      }
      break;
    }
    if (op == std::string::npos || op == 0) {
      return fail(ErrorCode::InvalidArgument, "invalid selector: '", text, "'; can't understand '",
                  term, "'");
    }
    std::string value;
    for (size_t i = op + op_len; i < term.size(); ++i) {
      if (term[i] == '\\') {
        if (i + 1 >= term.size() ||
            std::string_view("\\,=").find(term[i + 1]) == std::string_view::npos) {
          return fail(ErrorCode::InvalidArgument, "invalid field selector: '", text,
                      "': invalid escape sequence in '", term, "'");
        }
        value += term[++i];
      } else if (term[i] == '=' || term[i] == ',') {
        return fail(ErrorCode::InvalidArgument, "invalid field selector: '", text, "': unescaped '",
                    std::string(1, term[i]), "' in the value of '", term, "'");
      } else {
        value += term[i];
      }
    }
    out.push_back({term.substr(0, op), equals, std::move(value)});
  }
  return FieldSelector(std::move(out));
}

}  // namespace rampart::api
