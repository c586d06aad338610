"""Validate a CycloneDX JSON document against the schema cyclonedx-go ships.

usage: validate_cyclonedx.py SCHEMA_DIR BOM.json
Exit 0 when valid; 1 with the errors on stderr otherwise. The schema's
$refs (spdx.schema.json, jsf-0.82.schema.json) are served from SCHEMA_DIR,
so nothing is fetched.
"""
import json
import os
import sys

import jsonschema


def main():
    schema_dir, bom_path = sys.argv[1], sys.argv[2]
    store = {}
    for name in os.listdir(schema_dir):
        if name.endswith(".json"):
            with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
                doc = json.load(f)
            store["http://cyclonedx.org/schema/" + name] = doc
            if "$id" in doc:
                store[doc["$id"]] = doc
    with open(bom_path, encoding="utf-8") as f:
        bom = json.load(f)
    version = bom["specVersion"]
    schema = store["http://cyclonedx.org/schema/bom-%s.schema.json" % version]
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema, resolver=resolver, format_checker=cls.FORMAT_CHECKER).iter_errors(bom), key=str)
    for e in errors:
        print("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
