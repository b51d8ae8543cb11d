#!/usr/bin/env python3
"""Turn rendered output (or a bad sample) into inputs the real checkers can run on.

  prepare.py extract RENDER_DIR OUT_DIR
      Write the data of every ConfigMap labelled `hapl.dev/config: <format>` to
      OUT_DIR/<format>/<namespace>.<name>/<key>; print one line per ConfigMap.
  prepare.py ha-config PACKAGE_DIR CONFIG_DIR
      A Home Assistant config dir laid out as the home_assistant module mounts it and its docs
      tell users to include it: configuration.yaml with `homeassistant: packages:
      !include_dir_named packages`, the package as packages/hapl.yaml, and beside it
      packages/secrets.yaml with a placeholder per `!secret`.
  prepare.py z2m-data CONFIG_DIR DATA_DIR
      A Zigbee2MQTT data dir: configuration.yaml plus secret.yaml placeholders for its
      `!secret` references.
  prepare.py mosquitto-conf IN_CONF OUT_DIR PORT
      Rewrite a mosquitto.conf for a loopback run: every path moves under OUT_DIR/root, the first
      MQTT listener becomes `listener PORT 127.0.0.1`, other listeners get no port (dropped).
      Prints `password_file=...`, `acl_file=...` and `persistence_location=...` for the caller.
  prepare.py pg-urls RENDER_DIR
      Every distinct `postgresql://` URL in the rendered tree (the recorder's, in a secret
      template), one per line.
  prepare.py pg-url-local URL PORT PASSWORD
      The URL pointed at 127.0.0.1:PORT, its `{{ ... }}` password template replaced; prints
      `port=<the URL's port> user=<user> database=<db> url=<local URL>`.
  prepare.py prom-strip IN_YML OUT_YML
      Debian's promtool has no Kubernetes service discovery: replace each scrape job's
      `kubernetes_sd_configs` with a placeholder static target (relabelling is still checked).
"""
import pathlib
import re
import shutil
import sys
import urllib.parse

import yaml

SECRET = re.compile(r"!secret\s+([A-Za-z0-9_.-]+)")
Z2M_SECRET = re.compile(r"!(secret)(?:\.yaml)?\s+([A-Za-z0-9_.-]+)")
PATH_DIRECTIVES = {"password_file", "acl_file", "persistence_location", "pid_file", "include_dir",
                   "cafile", "capath", "certfile", "keyfile", "crlfile", "psk_file"}


def extract(render, out):
    out = pathlib.Path(out)
    found = 0
    for path in sorted(pathlib.Path(render).rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
                continue
            meta = doc.get("metadata") or {}
            fmt = (meta.get("labels") or {}).get("hapl.dev/config")
            if not fmt:
                continue
            target = out / fmt / f"{meta.get('namespace', 'default')}.{meta['name']}"
            target.mkdir(parents=True, exist_ok=True)
            for key, text in sorted((doc.get("data") or {}).items()):
                (target / key).write_text(text)
            found += 1
            print(f"{fmt}: {meta.get('namespace', 'default')}/{meta['name']} "
                  f"({', '.join(sorted(doc.get('data') or {}))}) from {path.relative_to(render)}")
    if not found:
        print("no ConfigMap labelled hapl.dev/config")


def placeholders(names):
    return "".join(f"{n}: placeholder-{n.replace('_', '-')}\n" for n in sorted(names))


def ha_config(package_dir, config_dir):
    package_dir, config_dir = pathlib.Path(package_dir), pathlib.Path(config_dir)
    (config_dir / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy(package_dir / "hapl.yaml", config_dir / "packages" / "hapl.yaml")
    names = set(SECRET.findall((package_dir / "hapl.yaml").read_text()))
    (config_dir / "configuration.yaml").write_text(
        "# Made by scripts/conformance: a user's configuration.yaml that includes hapl's package.\n"
        "homeassistant:\n  packages: !include_dir_named packages\n")
    (config_dir / "packages" / "secrets.yaml").write_text(placeholders(names))

    print(f"secrets: {', '.join(sorted(names)) or 'none'}")


def z2m_data(config_dir, data_dir):
    data_dir = pathlib.Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    text = (pathlib.Path(config_dir) / "configuration.yaml").read_text()
    (data_dir / "configuration.yaml").write_text(text)
    files = {}
    for file, key in Z2M_SECRET.findall(text):
        files.setdefault(f"{file}.yaml", set()).add(key)
    for file, keys in files.items():
        (data_dir / file).write_text(placeholders(keys))


def mosquitto_conf(src, out_dir, port):
    out_dir = pathlib.Path(out_dir)
    root = out_dir / "root"
    lines, listener_done, skipping, found = [], False, False, {}
    for line in pathlib.Path(src).read_text().splitlines():
        words = line.split()
        if words and words[0] == "listener":
            skipping = listener_done
            if not listener_done:
                lines.append(f"listener {port} 127.0.0.1")
                listener_done = True
            continue
        if words and words[0] == "port":
            continue
        if skipping and words and words[0] in ("protocol", "socket_domain", "http_dir", "mount_point"):
            continue
        if words and words[0] in PATH_DIRECTIVES and len(words) >= 2 and words[1].startswith("/"):
            new = f"{root}{words[1]}"
            found[words[0]] = new
            line = f"{words[0]} {new}"
        if words[:2] == ["log_dest", "file"] and len(words) >= 3:
            line = f"log_dest file {root}{words[2]}"
        lines.append(line)
    if not listener_done:
        lines.append(f"listener {port} 127.0.0.1")
    (out_dir / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    for key in ("password_file", "acl_file", "persistence_location"):
        print(f"{key}={found.get(key, '')}")


PG_URL = re.compile(r"postgres(?:ql)?://(?:\{\{[^}]*\}\}|[^\s\"'])+")


def pg_urls(render):
    urls = set()
    for path in pathlib.Path(render).rglob("*.yaml"):
        urls.update(PG_URL.findall(path.read_text()))
    print("\n".join(sorted(urls)))


def pg_url_local(url, port, password):
    parsed = urllib.parse.urlsplit(re.sub(r"\{\{[^}]*\}\}", password, url))
    local = parsed._replace(netloc=f"{parsed.username}:{urllib.parse.quote(password)}@127.0.0.1:{port}")
    print(f"port={parsed.port or 5432} user={parsed.username} database={parsed.path.lstrip('/')} "
          f"url={urllib.parse.urlunsplit(local)}")


def prom_strip(src, dst):
    cfg = yaml.safe_load(pathlib.Path(src).read_text()) or {}
    jobs = []
    for job in cfg.get("scrape_configs") or []:
        if "kubernetes_sd_configs" in job:
            del job["kubernetes_sd_configs"]
            job.setdefault("static_configs", []).append({"targets": ["kubernetes-sd.invalid:80"]})
            jobs.append(job.get("job_name", "?"))
    pathlib.Path(dst).write_text(yaml.safe_dump(cfg, sort_keys=False))
    print(", ".join(jobs) if jobs else "none")


COMMANDS = {"extract": extract, "ha-config": ha_config, "z2m-data": z2m_data,
            "mosquitto-conf": mosquitto_conf, "pg-urls": pg_urls, "pg-url-local": pg_url_local,
            "prom-strip": prom_strip}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
