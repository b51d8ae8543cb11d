#!/usr/bin/env python3
"""Check every Kubernetes object in the given YAML files or folders against real schemas.

Built-in kinds: the strict Kubernetes 1.34 JSON Schemas (standalone-strict) in the shared dir.
Custom kinds: the upstream CRDs in the shared dir (Flux, SealedSecret, cert-manager,
prometheus-operator), turned into strict JSON Schema here: unknown fields are rejected wherever
the CRD lists properties (the root too) unless it preserves unknown fields there, `nullable`
becomes a null type, int-or-string becomes string|integer, apiVersion/kind are pinned, and
metadata is the strict Kubernetes ObjectMeta. A kind without a schema is an error.
`kustomize.config.k8s.io` Kustomizations are left to `kubectl kustomize`.

usage: schema_check.py SHARED_DIR PATH...      exit 0 when every object is valid
"""
import copy
import json
import pathlib
import sys

import jsonschema
import yaml

K8S = "schemas/kubernetes-json-schema/v1.34.0/standalone-strict"
CRD_DIRS = ["schemas/flux-crds", "schemas/sealed-secrets", "schemas/cert-manager",
            "schemas/prometheus-operator"]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
SCHEMA_KEYS_MAP = ("properties", "patternProperties", "$defs", "definitions")
SCHEMA_KEYS_ONE = ("additionalProperties", "items", "not")
SCHEMA_KEYS_LIST = ("allOf", "anyOf", "oneOf")


def strict(node):
    """Close a CRD openAPIV3Schema node in place (and its children)."""
    if not isinstance(node, dict):
        return
    if node.pop("nullable", False):
        t = node.get("type")
        if isinstance(t, str):
            node["type"] = [t, "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"].append(None)
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node and "oneOf" not in node:
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        node["additionalProperties"] = False
    for key in SCHEMA_KEYS_MAP:
        for child in (node.get(key) or {}).values():
            strict(child)
    for key in SCHEMA_KEYS_ONE:
        strict(node.get(key))
    for key in SCHEMA_KEYS_LIST:
        for child in node.get(key) or []:
            strict(child)


def load_catalog(shared):
    """(apiVersion, kind) -> (schema, source file), for CRD kinds."""
    meta_src = json.loads((shared / K8S / "namespace-v1.json").read_text())
    meta_defs = meta_src["$defs"]
    catalog = {}
    for folder in CRD_DIRS:
        for path in sorted((shared / folder).glob("*.yaml")):
            for crd in yaml.load_all(path.read_text(), Loader=LOADER):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                kind = crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if not version.get("served", True):
                        continue
                    api = f"{group}/{version['name']}"
                    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                    strict(schema)
                    props = schema.setdefault("properties", {})
                    props["apiVersion"] = {"const": api}
                    props["kind"] = {"const": kind}
                    props["metadata"] = {"$ref": f"#/$defs/{META}"}
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
                    schema["additionalProperties"] = False
                    schema["$defs"] = meta_defs
                    catalog[(api, kind)] = (schema, path)
    return catalog


def builtin_schema(shared, api, kind):
    group, _, version = api.rpartition("/")
    name = f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
    path = shared / K8S / f"{name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()), path


def files(paths):
    for p in map(pathlib.Path, paths):
        if p.is_dir():
            yield from sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file())
        else:
            yield p


def main():
    shared = pathlib.Path(sys.argv[1])
    catalog = load_catalog(shared)
    validators = {}
    errors, checked = [], 0
    for path in files(sys.argv[2:]):
        try:
            docs = list(yaml.load_all(path.read_text(), Loader=LOADER))
        except yaml.YAMLError as err:
            errors.append(f"{path}: not YAML: {err}")
            continue
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            where = f"{path}" + (f" (document {index + 1})" if len(docs) > 1 else "")
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                errors.append(f"{where}: not a Kubernetes object (no apiVersion/kind)")
                continue
            api, kind = doc["apiVersion"], doc["kind"]
            if api.startswith("kustomize.config.k8s.io/"):
                continue
            found = catalog.get((api, kind)) or builtin_schema(shared, api, kind)
            if found is None:
                errors.append(f"{where}: no schema for {api} {kind} (not a served Flux/CRD version"
                              " nor a built-in kind of Kubernetes 1.34)")
                continue
            schema, source = found
            checked += 1
            validator = validators.get((api, kind))
            if validator is None:
                validator = validators[(api, kind)] = jsonschema.Draft202012Validator(schema)

            for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                field = ".".join(str(p) for p in err.absolute_path) or "(root)"
                message = err.message if len(err.message) < 300 else err.message[:300] + " ..."
                errors.append(f"{where}: {kind} {doc.get('metadata', {}).get('name', '?')}: "
                              f"{field}: {message} [{source.name}]")
    for line in errors:
        print(line)
    print(f"{checked} objects checked, {len(errors)} errors")
    return 1 if errors or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
