#!/usr/bin/env python3
"""Validates memory files against memory.v1.schema.json, independently of sfgit.

Usage: validate.py [--policy] FILE...   Prints one JSON object per file:
{"path": ..., "loaded": bool, "valid": bool, "error": str|null}

YAML is read with PyYAML, resolving plain scalars by the YAML 1.2 core schema as sfgit does
(timestamps stay strings; only true/false are booleans). PyYAML does not refuse duplicate
keys, anchors or tags: those rules are sfgit's alone (see README.md here).
"""
import json
import os
import re
import sys

import jsonschema
import yaml


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema resolution of plain scalars."""


CoreLoader.yaml_implicit_resolvers = {}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), list("~nN") + [""])
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def construct_bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


CoreLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
CoreLoader.add_constructor("tag:yaml.org,2002:bool", construct_bool)


def main(paths):
    here = os.path.dirname(os.path.abspath(__file__))
    policy = bool(paths) and paths[0] == "--policy"
    if policy:
        paths = paths[1:]
    name = "policy.v1.schema.json" if policy else "memory.v1.schema.json"
    with open(os.path.join(here, name), encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    for path in paths:
        result = {"path": path, "loaded": False, "valid": False, "error": None}
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            documents = list(yaml.load_all(text, Loader=CoreLoader))
            if len(documents) != (1 if policy else 2):
                raise ValueError(f"expected {1 if policy else 2} documents, found {len(documents)}")
            result["loaded"] = True
            instance = documents[0] if policy else {"front_matter": documents[0], "body": documents[1]}
            errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
            if errors:
                result["error"] = f"{'/'.join(map(str, errors[0].path))}: {errors[0].message}"
            else:
                result["valid"] = True
        except Exception as exc:  # noqa: BLE001 - any failure to load is a verdict, not a crash
            result["error"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
