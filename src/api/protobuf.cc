#include "api/protobuf.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "store/etcd_codec.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

// The descriptor table's vocabulary (see scripts/gen_protobuf_schema.py).
enum class Kind : uint8_t { kString, kBytes, kInt32, kInt64, kBool, kMessage };
// Messages whose JSON is not their fields (Go types with their own MarshalJSON).
enum class Special : uint8_t {
  kNone,
  kTime,         // {seconds, nanos} → "2006-01-02T15:04:05Z"; empty → null (the zero Time)
  kMicroTime,    // → "2006-01-02T15:04:05.000000Z"
  kQuantity,     // {string} → the string
  kIntOrString,  // {type, intVal, strVal} → a number or a string
  kRawJson,      // {raw} → the JSON it holds (FieldsV1, RawExtension)
  kStringList,   // {repeated items} → a list (authentication/v1 ExtraValue)
};
constexpr uint8_t kRepeated = 1;
constexpr uint8_t kMap = 2;       // map<string, kind>: repeated entries {1: key, 2: value}
constexpr uint8_t kKeepZero = 4;  // a Go pointer: present means set, even to zero
constexpr uint8_t kInline = 8;    // `json:",inline"`: its fields belong to the parent object

struct FieldSpec {
  uint32_t number;
  const char* json_name;
  Kind kind;
  int16_t message;  // index into kMessages when kind is kMessage
  uint8_t flags;
};
struct MessageSpec {
  const char* name;
  Special special;
  uint16_t first_field;  // its fields are kFields[first_field, first_field + field_count),
  uint16_t field_count;  // ordered by number
};
struct KindSpec {
  const char* api_version;  // "*": any
  const char* kind;
  int16_t message;
};

#include "api/protobuf_schema.inc"

constexpr std::string_view kMagic{"k8s\0", 4};
// Kubernetes' objects nest about 15 deep (Deployment → ... → a projected volume's items); the
// limit keeps recursion bounded for hostile input.
constexpr int kMaxDepth = 64;

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct WireField {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;      // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLen
};

// Walks the fields of one message's bytes; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  Result<uint64_t> varint() {
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ >= data_.size()) {
        return fail(ErrorCode::InvalidArgument, "truncated varint");
      }
      auto byte = static_cast<uint8_t>(data_[pos_++]);
      if (i == 9 && byte > 1) {
        return fail(ErrorCode::InvalidArgument, "varint overflows 64 bits");
      }
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        return value;
      }
    }
    return fail(ErrorCode::InvalidArgument, "varint longer than 10 bytes");
  }

  Result<WireField> next() {
    auto key = varint();
    if (!key) {
      return tl::unexpected(key.error());
    }
    WireField field;
    field.wire = static_cast<uint32_t>(*key & 7);
    uint64_t number = *key >> 3;
    if (number == 0 || number > 0x1fffffff) {
      return fail(ErrorCode::InvalidArgument, "invalid field number ", std::to_string(number));
    }
    field.number = static_cast<uint32_t>(number);
    switch (field.wire) {
      case kVarint: {
        auto value = varint();
        if (!value) {
          return tl::unexpected(value.error());
        }
        field.value = *value;
        return field;
      }
      case kFixed64:
      case kFixed32: {
        size_t size = field.wire == kFixed64 ? 8 : 4;
        if (data_.size() - pos_ < size) {
          return fail(ErrorCode::InvalidArgument, "truncated fixed-size field ",
                      std::to_string(number));
        }
        for (size_t i = 0; i < size; ++i) {
          field.value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
        }
        pos_ += size;
        return field;
      }
      case kLen: {
        auto length = varint();
        if (!length) {
          return tl::unexpected(length.error());
        }
        if (*length > data_.size() - pos_) {
          return fail(ErrorCode::InvalidArgument, "field ", std::to_string(number), " length ",
                      std::to_string(*length), " runs past the end of its message");
        }
        field.bytes = data_.substr(pos_, static_cast<size_t>(*length));
        pos_ += static_cast<size_t>(*length);
        return field;
      }
      default:
        return fail(ErrorCode::InvalidArgument, "field ", std::to_string(number),
                    ": unsupported wire type ", std::to_string(field.wire));
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

bool isZero(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return true;
    case json::value_t::string:
      return value.get_ref<const std::string&>().empty();
    case json::value_t::boolean:
      return !value.get<bool>();
    case json::value_t::number_integer:
      return value.get<int64_t>() == 0;
    case json::value_t::number_unsigned:
      return value.get<uint64_t>() == 0;
    case json::value_t::number_float:
      return value.get<double>() == 0;
    case json::value_t::object:
    case json::value_t::array:
      return value.empty();
    default:
      return false;
  }
}

bool isVarintKind(Kind kind) {
  return kind == Kind::kInt32 || kind == Kind::kInt64 || kind == Kind::kBool;
}

json varintValue(Kind kind, uint64_t value) {
  switch (kind) {
    case Kind::kInt32:
      // Go's decoder truncates (negative int32s are sign-extended to 10 bytes on the wire).
      return static_cast<int32_t>(static_cast<uint32_t>(value));
    case Kind::kInt64:
      return static_cast<int64_t>(value);
    default:
      return value != 0;
  }
}

// "2006-01-02T15:04:05Z" (Go's RFC 3339 in UTC), with microseconds for MicroTime.
Result<std::string> formatTime(int64_t seconds, int64_t nanos, bool micro) {
  // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z: what Go's time formats as RFC 3339.
  if (seconds < -62135596800 || seconds > 253402300799) {
    return fail(ErrorCode::InvalidArgument, "time ", std::to_string(seconds),
                " s is outside years 1-9999");
  }
  if (nanos < 0 || nanos >= 1000000000) {
    return fail(ErrorCode::InvalidArgument, "nanos ", std::to_string(nanos), " out of range");
  }
  using namespace std::chrono;
  sys_seconds point{std::chrono::seconds{seconds}};
  auto day = floor<days>(point);
  year_month_day date{day};
  hh_mm_ss<std::chrono::seconds> clock{point - day};
  char text[48];
  int year = static_cast<int>(date.year());
  auto month = static_cast<unsigned>(date.month());
  auto mday = static_cast<unsigned>(date.day());
  auto hour = static_cast<int>(clock.hours().count());
  auto minute = static_cast<int>(clock.minutes().count());
  auto second = static_cast<int>(clock.seconds().count());
  if (micro) {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", year, month, mday, hour,
                  minute, second, static_cast<int>(nanos / 1000));
  } else {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, month, mday, hour,
                  minute, second);
  }
  return std::string(text);
}

// Whether `text`'s arrays and objects nest at most `limit` deep: nlohmann's values are destroyed
// and dumped recursively, so embedded JSON is bounded like the protobuf around it.
bool jsonDepthWithin(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return false;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

class Decoder {
 public:
  Result<json> message(const MessageSpec& spec, std::string_view bytes, int depth) {
    if (depth > kMaxDepth) {
      return error("nesting deeper than " + std::to_string(kMaxDepth));
    }
    if (spec.special != Special::kNone) {
      return special(spec, bytes);
    }
    json object = json::object();
    const FieldSpec* begin = kFields + spec.first_field;
    const FieldSpec* end = begin + spec.field_count;
    Reader reader(bytes);
    while (!reader.done()) {
      auto field = reader.next();
      if (!field) {
        return error(field.error().message);
      }
      const FieldSpec* found = std::lower_bound(
          begin, end, field->number,
          [](const FieldSpec& spec, uint32_t number) { return spec.number < number; });
      if (found == end || found->number != field->number) {
        continue;  // a newer field than ours: skipped, as Go's decoder skips it
      }
      path_.push_back(found->json_name);
      auto stored = store(*found, *field, object, depth);
      path_.pop_back();
      if (!stored) {
        return tl::unexpected(stored.error());
      }
    }
    return object;
  }

  tl::unexpected<Error> error(std::string_view problem) const {
    std::string where;
    for (const auto& name : path_) {
      where += where.empty() ? "" : ".";
      where += name;
    }
    return fail(ErrorCode::InvalidArgument, "protobuf body: ", where, where.empty() ? "" : ": ",
                problem);
  }

 private:
  Result<void> store(const FieldSpec& spec, const WireField& field, json& object, int depth) {
    const std::string name = spec.json_name;
    if (spec.flags & kMap) {
      if (field.wire != kLen) {
        return wrongWire(field.wire, kLen);
      }
      return mapEntry(spec, field.bytes, object[name], depth);
    }
    if (spec.flags & kRepeated) {
      json& list = object[name];
      if (!list.is_array()) {
        list = json::array();
      }
      if (field.wire == kLen && isVarintKind(spec.kind)) {  // packed
        Reader packed(field.bytes);
        while (!packed.done()) {
          auto value = packed.varint();
          if (!value) {
            return error(value.error().message);
          }
          list.push_back(varintValue(spec.kind, *value));
        }
        return ok();
      }
      auto value = single(spec, field, depth);
      if (!value) {
        return tl::unexpected(value.error());
      }
      list.push_back(std::move(*value));
      return ok();
    }
    auto value = single(spec, field, depth);
    if (!value) {
      return tl::unexpected(value.error());
    }
    if (spec.flags & kInline) {
      for (auto& [key, inner] : value->items()) {
        object[key] = std::move(inner);
      }
      return ok();
    }
    // A zero Time is null in Go's JSON even behind a pointer, which is the same as absent.
    if (value->is_null() || (!(spec.flags & kKeepZero) && isZero(*value))) {
      object.erase(name);
      return ok();
    }
    object[name] = std::move(*value);
    return ok();
  }

  Result<json> single(const FieldSpec& spec, const WireField& field, int depth) {
    if (spec.kind == Kind::kString || spec.kind == Kind::kBytes || spec.kind == Kind::kMessage) {
      if (field.wire != kLen) {
        return wrongWire(field.wire, kLen);
      }
      if (spec.kind == Kind::kString) {
        return json(std::string(field.bytes));
      }
      if (spec.kind == Kind::kBytes) {
        return json(store::etcd::base64Encode(field.bytes));
      }
      return message(kMessages[spec.message], field.bytes, depth + 1);
    }
    if (field.wire != kVarint) {
      return wrongWire(field.wire, kVarint);
    }
    return varintValue(spec.kind, field.value);
  }

  // One map entry {1: key, 2: value} into `map`; zero values stay (`data: {k: ""}`).
  Result<void> mapEntry(const FieldSpec& spec, std::string_view bytes, json& map, int depth) {
    if (!map.is_object()) {
      map = json::object();
    }
    FieldSpec value_spec = spec;
    value_spec.flags = 0;
    std::string key;
    std::optional<json> value;
    Reader reader(bytes);
    while (!reader.done()) {
      auto field = reader.next();
      if (!field) {
        return error(field.error().message);
      }
      if (field->number == 1) {
        if (field->wire != kLen) {
          return wrongWire(field->wire, kLen);
        }
        key = std::string(field->bytes);
      } else if (field->number == 2) {
        auto decoded = single(value_spec, *field, depth);
        if (!decoded) {
          return tl::unexpected(decoded.error());
        }
        value = std::move(*decoded);
      }
    }
    if (!value) {  // an absent value is its kind's zero
      switch (spec.kind) {
        case Kind::kString:
        case Kind::kBytes:
          value = "";
          break;
        case Kind::kMessage: {
          auto empty = message(kMessages[spec.message], "", depth + 1);
          if (!empty) {
            return tl::unexpected(empty.error());
          }
          value = std::move(*empty);
          break;
        }
        default:
          value = varintValue(spec.kind, 0);
      }
    }
    map[key] = std::move(*value);
    return ok();
  }

  Result<json> special(const MessageSpec& spec, std::string_view bytes) {
    int64_t numbers[4] = {0, 0, 0, 0};
    std::string_view texts[4];
    json items = json::array();
    bool empty = bytes.empty();
    Reader reader(bytes);
    while (!reader.done()) {
      auto field = reader.next();
      if (!field) {
        return error(field.error().message);
      }
      if (field->number > 3) {
        continue;
      }
      // Per message: which numbers are varints and which are strings/bytes.
      bool text = spec.special == Special::kQuantity || spec.special == Special::kRawJson ||
                  spec.special == Special::kStringList ||
                  (spec.special == Special::kIntOrString && field->number == 3);
      if (field->wire != (text ? kLen : kVarint)) {
        return wrongWire(field->wire, text ? kLen : kVarint);
      }
      if (text) {
        texts[field->number] = field->bytes;
        if (spec.special == Special::kStringList && field->number == 1) {
          items.push_back(std::string(field->bytes));
        }
      } else {
        numbers[field->number] = static_cast<int64_t>(field->value);
      }
    }
    switch (spec.special) {
      case Special::kTime:
      case Special::kMicroTime: {
        if (empty) {
          return json(nullptr);
        }
        // Go's Time drops the nanos; MicroTime keeps microseconds.
        bool micro = spec.special == Special::kMicroTime;
        auto text = formatTime(numbers[1], micro ? static_cast<int32_t>(numbers[2]) : 0, micro);
        if (!text) {
          return error(text.error().message);
        }
        return json(*text);
      }
      case Special::kQuantity:
        return json(std::string(texts[1]));
      case Special::kIntOrString:
        if (numbers[1] == 0) {
          return json(static_cast<int32_t>(numbers[2]));
        }
        if (numbers[1] == 1) {
          return json(std::string(texts[3]));
        }
        return error("IntOrString type " + std::to_string(numbers[1]) + " is neither 0 nor 1");
      case Special::kRawJson: {
        if (texts[1].empty()) {
          return json(nullptr);
        }
        if (!jsonDepthWithin(texts[1], kMaxDepth)) {
          return error("embedded raw object nests deeper than " + std::to_string(kMaxDepth));
        }
        json parsed = json::parse(texts[1], nullptr, false);
        if (parsed.is_discarded()) {
          return error("embedded raw object is not JSON");
        }
        return parsed;
      }
      case Special::kStringList:
        return items;
      case Special::kNone:
        break;
    }
    return error("unhandled message");
  }

  tl::unexpected<Error> wrongWire(uint32_t got, uint32_t want) const {
    return error("wire type " + std::to_string(got) + " where the field has " +
                 std::to_string(want));
  }

  std::vector<std::string_view> path_;
};

}  // namespace

Result<json> protobufToJson(std::string_view body) {
  if (body.substr(0, kMagic.size()) != kMagic) {
    return fail(ErrorCode::InvalidArgument,
                "protobuf body: does not start with Kubernetes' magic \"k8s\\0\"");
  }
  Decoder decoder;
  std::string api_version;
  std::string kind;
  std::string_view raw;
  std::string content_encoding;
  std::string content_type;
  Reader envelope(body.substr(kMagic.size()));
  while (!envelope.done()) {
    auto field = envelope.next();
    if (!field) {
      return decoder.error(field.error().message);
    }
    if (field->number > 4) {
      continue;
    }
    if (field->wire != kLen) {
      return decoder.error("envelope field " + std::to_string(field->number) + " has wire type " +
                           std::to_string(field->wire));
    }
    switch (field->number) {
      case 1: {
        Reader type_meta(field->bytes);
        while (!type_meta.done()) {
          auto meta = type_meta.next();
          if (!meta) {
            return decoder.error(meta.error().message);
          }
          if (meta->number <= 2 && meta->wire != kLen) {
            return decoder.error("typeMeta field has wire type " + std::to_string(meta->wire));
          }
          if (meta->number == 1) {
            api_version = std::string(meta->bytes);
          } else if (meta->number == 2) {
            kind = std::string(meta->bytes);
          }
        }
        break;
      }
      case 2:
        raw = field->bytes;
        break;
      case 3:
        content_encoding = std::string(field->bytes);
        break;
      default:
        content_type = std::string(field->bytes);
    }
  }
  if (!content_encoding.empty()) {
    return decoder.error("content encoding \"" + content_encoding + "\" is not supported");
  }
  if (!content_type.empty() && content_type != kProtobufContentType) {
    return decoder.error("embedded content type \"" + content_type + "\" is not supported");
  }
  const KindSpec* found = nullptr;
  for (const auto& candidate : kKinds) {
    if (kind == candidate.kind &&
        (std::strcmp(candidate.api_version, "*") == 0 || api_version == candidate.api_version)) {
      found = &candidate;
      break;
    }
  }
  if (found == nullptr) {
    return decoder.error("kind \"" + kind + "\" of apiVersion \"" + api_version +
                         "\" is not served in protobuf (send JSON)");
  }
  auto object = decoder.message(kMessages[found->message], raw, 1);
  if (!object) {
    return tl::unexpected(object.error());
  }
  (*object)["apiVersion"] = api_version;
  (*object)["kind"] = kind;
  return object;
}

}  // namespace rampart::api
