#!/usr/bin/env python3
"""Writes src/api/protobuf_schema.inc: the descriptor table api/protobuf.cc decodes Kubernetes'
protobuf request bodies with (kubectl's typed clients send them).

    scripts/gen_protobuf_schema.py API_DIR APIMACHINERY_DIR RELEASE > src/api/protobuf_schema.inc

API_DIR and APIMACHINERY_DIR are checkouts of k8s.io/api and k8s.io/apimachinery (the same
release as the kubectl we serve, e.g. `git -C api archive v0.32.9 | tar -x -C /tmp/api`). The
output is committed, so the build never needs them or the network.

Field numbers, wire types and message types come from the generated.proto files; from the Go
types (*.go beside them) come each field's JSON name, whether it is inlined into its parent
(`json:",inline"`), and whether its Go type is a pointer: gogo-protobuf writes non-pointer fields
even when zero, which Go's JSON (omitempty) would drop, so only pointer fields keep their zero
values ("keep zero"). Only messages reachable from ROOTS are written.
"""

import os
import re
import sys

# (apiVersion, kind, message). apiVersion "*" matches any group version (client-go sends
# DeleteOptions under the group version of the resource deleted).
ROOTS = [
    ("v1", "Namespace", "k8s.io.api.core.v1.Namespace"),
    ("v1", "Pod", "k8s.io.api.core.v1.Pod"),
    ("v1", "Service", "k8s.io.api.core.v1.Service"),
    ("v1", "Endpoints", "k8s.io.api.core.v1.Endpoints"),
    ("v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"),
    ("v1", "Secret", "k8s.io.api.core.v1.Secret"),
    ("v1", "Node", "k8s.io.api.core.v1.Node"),
    ("v1", "Event", "k8s.io.api.core.v1.Event"),
    ("v1", "Binding", "k8s.io.api.core.v1.Binding"),
    ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("apps/v1", "ReplicaSet", "k8s.io.api.apps.v1.ReplicaSet"),
    ("apps/v1", "StatefulSet", "k8s.io.api.apps.v1.StatefulSet"),
    ("autoscaling/v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
    ("policy/v1", "PodDisruptionBudget", "k8s.io.api.policy.v1.PodDisruptionBudget"),
    ("policy/v1", "Eviction", "k8s.io.api.policy.v1.Eviction"),
    ("coordination.k8s.io/v1", "Lease", "k8s.io.api.coordination.v1.Lease"),
    ("authentication.k8s.io/v1", "SelfSubjectReview",
     "k8s.io.api.authentication.v1.SelfSubjectReview"),
    ("*", "DeleteOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
]

PACKAGES = {  # proto package -> (checkout, directory)
    "k8s.io.api.core.v1": ("api", "core/v1"),
    "k8s.io.api.apps.v1": ("api", "apps/v1"),
    "k8s.io.api.autoscaling.v1": ("api", "autoscaling/v1"),
    "k8s.io.api.policy.v1": ("api", "policy/v1"),
    "k8s.io.api.coordination.v1": ("api", "coordination/v1"),
    "k8s.io.api.authentication.v1": ("api", "authentication/v1"),
    "k8s.io.apimachinery.pkg.apis.meta.v1": ("apimachinery", "pkg/apis/meta/v1"),
    "k8s.io.apimachinery.pkg.runtime": ("apimachinery", "pkg/runtime"),
    "k8s.io.apimachinery.pkg.runtime.schema": ("apimachinery", "pkg/runtime/schema"),
    "k8s.io.apimachinery.pkg.util.intstr": ("apimachinery", "pkg/util/intstr"),
    "k8s.io.apimachinery.pkg.api.resource": ("apimachinery", "pkg/api/resource"),
}

# Messages whose JSON is not their fields (custom MarshalJSON in Go).
SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "kTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "kMicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "kRawJson",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "kRawJson",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "kQuantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "kIntOrString",
    # `type ExtraValue []string`, wrapped for protobuf (+protobuf.nullable=true).
    "k8s.io.api.authentication.v1.ExtraValue": "kStringList",
}

SCALARS = {"string": "kString", "bytes": "kBytes", "int32": "kInt32", "int64": "kInt64",
           "bool": "kBool", "double": "kDouble"}

FIELD_RE = re.compile(r"^\s*(optional|repeated|required) (\S+) (\w+) = (\d+);")
MAP_RE = re.compile(r"^\s*map<(\S+), (\S+)> (\w+) = (\d+);")


def die(message):
    sys.stderr.write("gen_protobuf_schema: " + message + "\n")
    sys.exit(1)


def parse_proto(package, text):
    messages = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        if current is None:
            m = re.match(r"^message (\w+) \{$", stripped)
            if m:
                current = package + "." + m.group(1)
                messages[current] = []
            continue
        if stripped == "}":
            current = None
            continue
        m = MAP_RE.match(line)
        if m:
            key, value, name, tag = m.groups()
            if key != "string":
                die(f"{current}.{name}: map key {key}")
            messages[current].append(
                {"name": name, "number": int(tag), "type": value, "label": "map"})
            continue
        m = FIELD_RE.match(line)
        if m:
            label, typ, name, tag = m.groups()
            messages[current].append(
                {"name": name, "number": int(tag), "type": typ, "label": label})
            continue
        die(f"{package} line {number}: cannot parse {stripped!r}")
    return messages


def resolve(package, typ):
    if typ in SCALARS:
        return typ
    if typ.startswith("."):
        return typ[1:]
    return package + "." + typ


GO_TYPE_RE = re.compile(r"^type (\w+) struct \{")
GO_FIELD_RE = re.compile(r"^\s*(?:(\w+)\s+)?(\*?[\w.\[\]*]+)\s+`([^`]*)`")


def parse_go(text):
    """{struct: {proto number: (json name, inline, pointer)}}"""
    structs = {}
    current = None
    for line in text.splitlines():
        if current is None:
            m = GO_TYPE_RE.match(line)
            if m:
                current = m.group(1)
                structs[current] = {}
            continue
        if line.startswith("}"):
            current = None
            continue
        if line.strip().startswith("//"):
            continue
        m = GO_FIELD_RE.match(line)
        if not m:
            continue
        _, typ, tag = m.groups()
        proto = re.search(r'protobuf:"([^"]*)"', tag)
        if not proto:
            continue
        parts = proto.group(1).split(",")
        if len(parts) < 2 or not parts[1].isdigit():  # e.g. `protobuf:"-"`
            continue
        json_tag = re.search(r'json:"([^"]*)"', tag)
        json_name = json_tag.group(1).split(",")[0] if json_tag else ""
        inline = json_tag is not None and json_name == "" and "inline" in json_tag.group(1)
        structs[current][int(parts[1])] = (json_name, inline, typ.startswith("*"))
    return structs


def main():
    if len(sys.argv) != 4:
        die("usage: gen_protobuf_schema.py API_DIR APIMACHINERY_DIR RELEASE")
    roots = {"api": sys.argv[1], "apimachinery": sys.argv[2]}
    messages = {}
    go_structs = {}
    for package, (checkout, directory) in PACKAGES.items():
        path = os.path.join(roots[checkout], directory)
        with open(os.path.join(path, "generated.proto")) as f:
            for name, fields in parse_proto(package, f.read()).items():
                for field in fields:
                    field["type"] = resolve(package, field["type"])
                messages[name] = fields
        structs = {}
        for entry in sorted(os.listdir(path)):
            if entry.endswith(".go") and not entry.endswith("_test.go") and \
                    not entry.startswith("zz_generated") and entry != "generated.pb.go":
                with open(os.path.join(path, entry)) as f:
                    structs.update(parse_go(f.read()))
        for name, fields in structs.items():
            go_structs[package + "." + name] = fields

    # Breadth-first from the roots, so the table reads top-down.
    order = []
    seen = set()
    queue = [message for _, _, message in ROOTS]
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name not in messages:
            die(f"no message {name}")
        order.append(name)
        if name in SPECIAL:
            continue
        for field in messages[name]:
            if field["type"] not in SCALARS:
                queue.append(field["type"])

    index = {name: i for i, name in enumerate(order)}
    out = []
    out.append("// Generated by scripts/gen_protobuf_schema.py from the generated.proto files and Go "
               "types of")
    out.append(f"// k8s.io/api and k8s.io/apimachinery {sys.argv[3]}; do not edit. Included by "
               "api/protobuf.cc.")
    out.append("// clang-format off")
    field_rows = []
    message_rows = []
    for name in order:
        first = len(field_rows)
        special = SPECIAL.get(name, "kNone")
        go = go_structs.get(name)
        if go is None and special == "kNone":
            die(f"no Go struct for {name}")
        for field in sorted(messages[name], key=lambda f: f["number"]):
            json_name, inline, pointer = field["name"], False, False
            if go is not None and field["number"] in go:
                go_json, inline, pointer = go[field["number"]]
                if go_json and go_json != "-":
                    json_name = go_json
            elif special == "kNone":
                die(f"{name}.{field['name']}: no Go field")
            flags = []
            if field["label"] == "repeated":
                flags.append("kRepeated")
            if field["label"] == "map":
                flags.append("kMap")
            if pointer:
                flags.append("kKeepZero")
            if inline:
                flags.append("kInline")
            typ = field["type"]
            if typ in SCALARS:
                kind, message = SCALARS[typ], -1
            else:
                kind, message = "kMessage", index[typ]
            field_rows.append(f'    {{{field["number"]}, "{json_name}", Kind::{kind}, {message}, '
                              f'{"|".join(flags) or "0"}}},  // {name.rsplit(".", 1)[1]}')
        message_rows.append(f'    {{"{name}", Special::{special}, {first}, '
                            f'{len(field_rows) - first}}},')
    out.append("constexpr FieldSpec kFields[] = {")
    out.extend(field_rows)
    out.append("};")
    out.append("constexpr MessageSpec kMessages[] = {")
    out.extend(message_rows)
    out.append("};")
    out.append("constexpr KindSpec kKinds[] = {")
    for api_version, kind, message in ROOTS:
        out.append(f'    {{"{api_version}", "{kind}", {index[message]}}},')
    out.append("};")
    out.append("// clang-format on")
    print("\n".join(out))


if __name__ == "__main__":
    main()
