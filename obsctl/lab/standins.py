"""What the lab adds so that an alert travels the whole way: fault -> rule -> notification -> analyzer.

Grafana's image cannot be had here, so Grafana's alerting has a clearly named LAB STAND-IN, and the
outside services have TEST DOUBLES (obsctl/lab/doubles.py):

* the real Prometheus 3.5 of the lab evaluates the catalog's PromQL alerts, rendered by
  :func:`obsctl.alerting.promrules.alerting_rules` into ``.obs/lab/alerting/catalog-alerts.yml``
  (``monitoring_stack_prometheus_rule_files``), and sends them to
* Debian's Alertmanager 0.33 (image ``obs/alertmanager-debian``, container ``obs-lab-alertmanager``
  in mon-1's Docker, on the stack's Compose network), configured by
  :func:`obsctl.alerting.alertmanager.config`: the generated notification policy's routes and
  timers; P1/P2 to the analyzer's webhook with the Bearer credential from the vault, every severity
  to the lab's Discord capture server;
* the incident analyzer runs as in production (the role's Compose service), from the obsctl image
  the role would build. LAB SHORTCUT: the image is built on this machine (overlay2) with the tag
  the role derives (its tasks/obsctl_tag.yml, run by lab_demo.yml) and side-loaded into mon-1,
  where the role finds it present; building it in mon-1's vfs Docker takes far too long;
* the analyzer's LLM provider (Anthropic's API shape) and Discord webhook point at the test doubles
  on this machine's tunnel address (:data:`LLM_DOUBLE_PORT`, :data:`DISCORD_CAPTURE_PORT`), which
  the drills start while they run.

All of it is lab-only: the variables go to the generated ``hosts.yml`` (:func:`drill_vars`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from obsctl import images
from obsctl.alerting import alertmanager, promrules
from obsctl.alerting import catalog as cat
from obsctl.common import port
from obsctl.errors import ObsError
from obsctl.lab import docker, secrets
from obsctl.lab.layout import (
    OPERATOR_ADDRESS,
    inventory_dir,
    lab_state,
    monitoring_host,
    vault_file,
    vault_password_file,
)
from obsctl.paths import repo_root
from obsctl.proc import run

ALERTMANAGER_RECIPE = "alertmanager-debian"
ALERTMANAGER_IMAGE = f"{images.IMAGE_PREFIX}/{ALERTMANAGER_RECIPE}:latest"
ALERTMANAGER_CONTAINER = "obs-lab-alertmanager"
ALERTMANAGER_PORT = 9093
# Where mon-1 keeps the stand-in's configuration (not the stack's project directory).
ALERTMANAGER_DIR = "/opt/obs-lab/alertmanager"
_CONFIG_LABEL = "org.obsctl.lab.config-hash"
# The base the lab builds the obsctl image from where debian:12.11-slim cannot be pulled.
OBSCTL_BASE_RECIPE = "debian12-slim"
# Test doubles on this machine's tunnel address (obsctl/lab/doubles.py), started by the drills.
LLM_DOUBLE_PORT = 18431
DISCORD_CAPTURE_PORT = 18432
LLM_DOUBLE_PROVIDER = "anthropic"
LLM_DOUBLE_MODEL = "llm-test-double"
# Not a secret: the key the analyzer sends and the LLM test double checks.
LLM_DOUBLE_KEY = "lab-llm-test-double-key"
# The demo api's owner in the analyzer's owner map: a made-up Discord role id.
API_OWNER_ROLE = "1400000000000000001"
# The obsctl image's facts as lab_demo.yml derives them with the role's task file.
FACTS_FILE = "obsctl-image.json"


def llm_double_url() -> str:
    return f"http://{OPERATOR_ADDRESS}:{LLM_DOUBLE_PORT}"


def discord_capture_url(channel: str) -> str:
    """A webhook URL of the capture server, one per sender: ``/api/webhooks/<channel>/lab-capture``."""
    return f"http://{OPERATOR_ADDRESS}:{DISCORD_CAPTURE_PORT}/api/webhooks/{channel}/lab-capture"


def rules_file() -> Path:
    return lab_state() / "alerting" / "catalog-alerts.yml"


def drill_vars() -> dict[str, Any]:
    """mon-1's lab-only variables for the drills (hosts.yml; paths relative to the inventory)."""
    rel = os.path.relpath(rules_file(), inventory_dir())
    return {
        "monitoring_stack_prometheus_rule_files": ["{{ inventory_dir }}/" + rel],
        "monitoring_stack_prometheus_alertmanagers": [f"{ALERTMANAGER_CONTAINER}:{ALERTMANAGER_PORT}"],
        "monitoring_stack_analyzer_discord_webhook_url": discord_capture_url("analyzer"),
        "monitoring_stack_analyzer_owners": {"services": {"api": f"role:{API_OWNER_ROLE}"}},
        "monitoring_stack_llm_providers": [LLM_DOUBLE_PROVIDER],
        "monitoring_stack_llm_api_keys": {LLM_DOUBLE_PROVIDER: LLM_DOUBLE_KEY},
        "monitoring_stack_llm_models": {LLM_DOUBLE_PROVIDER: LLM_DOUBLE_MODEL},
        "monitoring_stack_llm_base_urls": {LLM_DOUBLE_PROVIDER: llm_double_url()},
    }


# The obsctl image trusts this machine's extra CA certificates (a TLS-inspecting proxy between it
# and PyPI; none without one), as in the monitoring_stack Molecule scenario.
OBSCTL_IMAGE_VARS: dict[str, Any] = {
    "monitoring_stack_obsctl_ca_certificates": (
        "{{ query('ansible.builtin.fileglob', '/usr/local/share/ca-certificates/*.crt') }}"
    ),
}


def write_rules(catalog: cat.Catalog | None = None) -> tuple[bool, list[str]]:
    """Render the catalog's rule file for the lab's Prometheus; (changed, what it leaves out)."""
    doc, left_out = promrules.alerting_rules(catalog or cat.load())
    text = (
        "# Generated by `obsctl lab up` from alerting/catalog.yml (obsctl.alerting.promrules.alerting_rules):\n"
        "# the lab's Prometheus evaluates these where Grafana cannot run.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
    )
    path = rules_file()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False, left_out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True, left_out


# --- the obsctl image (lab shortcut) -----------------------------------------------------------


def facts_file() -> Path:
    return lab_state() / FACTS_FILE


def obsctl_facts() -> dict[str, Any]:
    path = facts_file()
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ObsError(
            f"the obsctl image's tag was not derived ({path}: {exc})",
            fix="run `obsctl lab up` (lab_demo.yml writes it with the role's tasks/obsctl_tag.yml)",
        ) from None
    if not isinstance(facts, dict) or not str(facts.get("image", "")).startswith(f"{images.IMAGE_PREFIX}/"):
        raise ObsError(f"{path} holds no obsctl image tag: {str(facts)[:200]}", fix="re-run `obsctl lab up`")
    return facts


def build_context(facts: dict[str, Any], target: Path) -> None:
    """The build context the role copies to the host (tasks/obsctl_image.yml), in ``target``, from
    this checkout (the role's default monitoring_stack_obsctl_source_dir)."""
    source = repo_root()
    role_files = repo_root() / "roles" / "monitoring_stack" / "files"
    shutil.copy2(role_files / "obsctl" / "Dockerfile", target / "Dockerfile")
    for name in ("pyproject.toml", "requirements-runtime.lock"):
        shutil.copy2(source / name, target / name)
    (target / "alerting").mkdir()
    shutil.copy2(source / "alerting" / "catalog.yml", target / "alerting" / "catalog.yml")
    shutil.copytree(source / "obsctl", target / "obsctl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    certs = target / "ca-certificates"
    certs.mkdir()
    for cert in facts.get("ca_certificates") or []:
        name = Path(str(cert)).name
        for suffix in (".pem", ".crt"):
            name = name.removesuffix(suffix)
        shutil.copy2(str(cert), certs / f"{name}.crt")


def ensure_obsctl_image(echo: Callable[[str], None] = print) -> tuple[str, bool]:
    """Build the obsctl image here unless this machine has it; (tag, built)."""
    facts = obsctl_facts()
    tag = str(facts["image"])
    if images.image_id(tag):
        return tag, False
    base = str(facts["base_image"])
    if images.image_id(base) is None and not images.try_pull(base):
        raise ObsError(
            f"the obsctl image's base {base} is neither on this machine nor pullable",
            fix=f"obsctl images build {OBSCTL_BASE_RECIPE}",
        )
    echo(f"building {tag} from {base} on this machine (lab shortcut)")
    with tempfile.TemporaryDirectory(prefix="obs-lab-obsctl-") as tmp:
        build_context(facts, Path(tmp))
        run(
            [
                "docker",
                "build",
                "--pull=false",
                "--build-arg",
                f"BASE_IMAGE={base}",
                "--build-arg",
                f"OBSCTL_UID={facts['uid']}",
                "--label",
                f"org.obsctl.source-hash={tag.rsplit(':', 1)[-1]}",
                "-t",
                tag,
                tmp,
            ],
            timeout=1800,
        )
    return tag, True


# --- the Alertmanager stand-in -----------------------------------------------------------------


def alertmanager_config(token_path: str) -> dict[str, Any]:
    catalog = cat.load()
    return alertmanager.config(
        catalog,
        discord_urls={channel: discord_capture_url(channel) for channel in catalog.channels},
        analyzer_url=f"http://analyzer:{port('analyzer')}/webhook",
        analyzer_credentials_file=token_path,
    )


def _mon(*argv: str, input_text: str | None = None, check: bool = True) -> str:
    proc = run(
        ["docker", "exec", "-i", monitoring_host().container, *argv],
        input_text=input_text,
        check=check,
        timeout=120,
    )
    return proc.stdout


def compose_network() -> str:
    """The network of the stack's Compose project on mon-1 (where the analyzer and Prometheus are)."""
    names = _mon(
        "docker", "ps", "--filter", "label=com.docker.compose.service=prometheus", "--format", "{{.Names}}"
    ).split()
    if not names:
        raise ObsError(f"no Prometheus container runs on {monitoring_host().name}", fix="obsctl lab up")
    fmt = "{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{end}}"
    networks = _mon("docker", "inspect", "--format", fmt, names[0]).split()
    if not networks:
        raise ObsError(f"{names[0]} on {monitoring_host().name} is on no network", fix="obsctl lab up")
    return networks[0]


def ensure_alertmanager() -> str:
    """Start (or keep) Debian's Alertmanager on mon-1 with the generated configuration."""
    token = secrets.read(vault_file(), vault_password_file()).get("vault_analyzer_webhook_token", "")
    if not token:
        raise ObsError("the lab vault has no vault_analyzer_webhook_token", fix="obsctl lab down; obsctl lab up")
    config = yaml.safe_dump(alertmanager_config("/etc/alertmanager/analyzer-token"), sort_keys=False)
    network = compose_network()
    image = images.image_id(ALERTMANAGER_IMAGE) or ""
    wanted = hashlib.sha256(f"{config}\0{token}\0{network}\0{image}".encode()).hexdigest()[:16]
    fmt = '{{ index .Config.Labels "' + _CONFIG_LABEL + '" }} {{ .State.Running }}'
    current = _mon("docker", "inspect", "--format", fmt, ALERTMANAGER_CONTAINER, check=False).split()
    if current == [wanted, "true"]:
        return "running"
    # The credential file is readable by the container's user (nobody) only.
    _mon("sh", "-c", f"mkdir -p {ALERTMANAGER_DIR} && cat > {ALERTMANAGER_DIR}/alertmanager.yml", input_text=config)
    _mon(
        "sh",
        "-c",
        f"umask 077 && cat > {ALERTMANAGER_DIR}/analyzer-token && chown 65534:65534 {ALERTMANAGER_DIR}/analyzer-token"
        f" && chmod 0400 {ALERTMANAGER_DIR}/analyzer-token && chmod 0644 {ALERTMANAGER_DIR}/alertmanager.yml",
        input_text=token,
    )
    _mon("docker", "rm", "-f", ALERTMANAGER_CONTAINER, check=False)
    _mon(
        "docker",
        "run",
        "-d",
        "--name",
        ALERTMANAGER_CONTAINER,
        "--network",
        network,
        "--restart",
        "unless-stopped",
        "--memory",
        "64m",
        "--label",
        f"{_CONFIG_LABEL}={wanted}",
        "-v",
        f"{ALERTMANAGER_DIR}:/etc/alertmanager:ro",
        ALERTMANAGER_IMAGE,
    )
    return "started"


def sideload(echo: Callable[[str], None] = print) -> list[str]:
    """The obsctl image (built here if needed) and the Alertmanager stand-in, into mon-1's Docker."""
    notes = []
    tag, built = ensure_obsctl_image(echo)
    loaded = docker.sideload_image(monitoring_host().container, tag)
    notes.append(f"{tag} {'built here, ' if built else ''}{'loaded' if loaded else 'present'}")
    if images.image_id(ALERTMANAGER_IMAGE) is None:
        raise ObsError(f"{ALERTMANAGER_IMAGE} is not built", fix=f"obsctl images build {ALERTMANAGER_RECIPE}")
    loaded = docker.sideload_image(monitoring_host().container, ALERTMANAGER_IMAGE)
    notes.append(f"{ALERTMANAGER_IMAGE} {'loaded' if loaded else 'present'}")
    return notes
