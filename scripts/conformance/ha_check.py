#!/usr/bin/env python3
"""Home Assistant's own configuration check, made strict.

`hass --script check_config` exits with the number of errors of core integrations only; schema
problems of other integrations and of packages are printed as "Incorrect config" and exit 0.
This runs the same `check()` and fails on every error and warning, on a `!secret` that is not
defined, and when a domain of the package is not among the integrations Home Assistant loaded.

usage: <ha venv>/bin/python ha_check.py CONFIG_DIR     (run by scripts/conformance/run)
"""
import sys

import yaml
from homeassistant.const import __version__
from homeassistant.scripts import check_config


class _Tagged(yaml.SafeLoader):
    """Reads HA YAML just to list the package's top-level domains."""


_Tagged.add_multi_constructor("!", lambda loader, suffix, node: None)


def main(config_dir):
    result = check_config.check(config_dir, secrets=True)
    problems = []
    for kind in ("except", "warn"):
        for domain, items in sorted(result[kind].items()):
            for item in items:
                problems.append(f"{domain}: {item}")
    problems += [f"!secret {name} is not defined" for name, value in sorted(result["secrets"].items())
                 if value is None]
    with open(f"{config_dir}/packages/hapl.yaml", encoding="utf-8") as package:
        domains = sorted((yaml.load(package, Loader=_Tagged) or {}).keys())
    loaded = result["components"]
    problems += [f"{domain}: in the package but not loaded by Home Assistant" for domain in domains
                 if domain.split(" ")[0] not in loaded]
    for problem in problems:
        print(problem)
    print(f"homeassistant {__version__}: package domains {', '.join(domains) or 'none'}; "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
