"""`obsctl lab up|down|status`: the platform's main job against the local embedded default.

up = lab network -> moto (local AWS, on the network's gateway) -> access keys (operator WireGuard
key, admin SSH key) -> terraform apply (envs/lab.tfvars + the keys' public halves)
-> mon-1's NoCloud seed from the launched instance's user_data + its data volume (loop device) ->
lab host containers -> cloud-init on mon-1 (the user_data, checked) -> this machine joins the
tunnel as the operator peer (hub key from SSM) and logs in to mon-1 over SSH -> secrets ->
inventories/lab/hosts.yml -> lab_demo.yml (demo workload, Docker on mon-1, the obsctl image's
tag) -> side-load the Debian-built substitute images, the obsctl image (built here: lab shortcut)
and the Alertmanager stand-in -> ansible-playbook ansible/site.yml -> the Alertmanager stand-in
runs on mon-1 -> verify. Every phase is
idempotent, so a second `up` changes nothing (the site.yml PLAY RECAP must show changed=0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsctl import images, localaws, tools
from obsctl.errors import ObsError
from obsctl.lab import access, boot, docker, recap, secrets, standins
from obsctl.lab import inventory as lab_inventory
from obsctl.lab import terraform as lab_terraform
from obsctl.lab.layout import (
    ADMIN_USER,
    APP_RECIPE,
    AUTHORIZED_KEYS_DIR,
    CLOUD_RECIPE,
    GATEWAY,
    HOSTS,
    OPERATOR_INTERFACE,
    SUBSTITUTE_RECIPES,
    inventory_dir,
    lab_state,
    monitoring_host,
    vault_file,
    vault_password_file,
)
from obsctl.paths import repo_root

if TYPE_CHECKING:
    from obsctl import verify


@dataclass
class Timings:
    phases: list[tuple[str, float, str]] = field(default_factory=list)
    echo: Callable[[str], None] = print

    @contextmanager
    def phase(self, name: str) -> Iterator[list[str]]:
        """Time one phase; the body appends a short note that is printed with the duration."""
        note: list[str] = []
        self.echo(f"==> {name}")
        start = time.monotonic()
        try:
            yield note
        finally:
            took = time.monotonic() - start
            self.phases.append((name, took, "; ".join(note)))
            self.echo(f"    {name}: {took:.1f}s" + (f" ({'; '.join(note)})" if note else ""))

    def render(self) -> str:
        total = sum(t for _, t, _ in self.phases)
        lines = [f"  {name:24} {took:7.1f}s  {note}" for name, took, note in self.phases]
        return "phase timings:\n" + "\n".join(lines) + f"\n  {'total':24} {total:7.1f}s"


@dataclass
class UpResult:
    site_recap: recap.Recap | None = None
    verify_exit: int | None = None
    timings: Timings = field(default_factory=Timings)


def _venv_tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def ansible_env() -> dict[str, str]:
    root = repo_root()
    venv_bin = str(Path(sys.executable).parent)
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(root / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        PATH=f"{venv_bin}:{os.environ.get('PATH', '')}",
    )


def run_playbook(
    playbook: Path, log: Path, echo: Callable[[str], None], stream: bool, extra: Sequence[str] = ()
) -> recap.Recap:
    """ansible-playbook against inventories/lab; output to ``log`` (and the console when streaming)."""
    argv = [
        _venv_tool("ansible-playbook"),
        "-i",
        str(inventory_dir()),
        "--vault-password-file",
        str(vault_password_file()),
        *extra,
        str(playbook),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            argv,
            cwd=repo_root(),
            env=ansible_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            lines.append(line)
            if stream:
                echo(line.rstrip("\n"))
        code = proc.wait()
    result = recap.parse("".join(lines))
    if code != 0 or not result.ok:
        tail = "".join(lines[-40:])
        raise ObsError(
            f"{playbook.name} failed (exit {code}; {result.summary()}); full log: {log}\n{tail}",
            fix=f"read {log}; fix the failing task, then re-run `obsctl lab up` (it resumes where it stopped)",
        )
    return result


def _moto_files(state: Path) -> tuple[Path, Path]:
    return state / "localaws.json", state / "logs" / "localaws.log"


def preflight() -> None:
    # The base image is not required here: the images phase builds it (and the substitutes)
    # when missing, so `make lab` works on a machine where `make images` never ran.
    docker.require_daemon()
    if shutil.which("terraform") is None:
        raise ObsError("terraform is not on PATH", fix="install Terraform >= 1.10 (see `obsctl doctor`)")


def up(stream: bool = True, run_verify: bool = True, echo: Callable[[str], None] = print) -> UpResult:
    result = UpResult(timings=Timings(echo=echo))
    t = result.timings
    state = lab_state()
    logs = state / "logs"
    root = repo_root()
    with t.phase("preflight"):
        preflight()
    aws = start_local_aws(t, state)
    with t.phase("access keys") as note:
        keys = access.ensure_keys()
        note.append(f"operator {keys.wg_public[:8]}..., admin key {keys.ssh_private.name}")
    with t.phase("terraform apply") as note:
        outputs = lab_terraform.apply(aws, state, access.terraform_variables(keys))
        (state / "terraform-outputs.json").write_text(json.dumps(outputs, indent=2, sort_keys=True), encoding="utf-8")
        note.append(f"instance {outputs.get('monitoring_instance_id', '?')}, EIP {outputs.get('monitoring_public_ip')}")
    with t.phase("images") as note:
        wanted = [CLOUD_RECIPE, APP_RECIPE, *SUBSTITUTE_RECIPES, standins.ALERTMANAGER_RECIPE]
        wanted += [] if os.environ.get(UPSTREAM_IMAGES_ENV) == "1" else [standins.OBSCTL_BASE_RECIPE]
        built = images.build_all([r for r in wanted if (images.recipes_dir() / r).is_dir()])
        docker.require_base_image()
        note.append(f"{len(built)} checked")
    start_hosts(t, aws, outputs, keys)
    with t.phase("operator tunnel") as note:
        note.append(f"{OPERATOR_INTERFACE} {access.ensure_tunnel(keys, aws, outputs)}")
        tunnel = str(outputs["monitoring_tunnel_address"])
        took = access.wait_ssh(tunnel, keys)
        note.append(f"ssh {ADMIN_USER}@{tunnel} ok after {took:.1f}s")
    with t.phase("secrets + inventory") as note:
        if secrets.ensure(vault_file(), vault_password_file()):
            note.append("lab secrets generated")
        hosts_yml = inventory_dir() / "hosts.yml"
        changed, _ = standins.write_rules()
        note.append(f"catalog rules {'written' if changed else 'unchanged'}")
        text = lab_inventory.render(outputs, monitoring_vars())
        note.append("hosts.yml " + ("written" if lab_inventory.write(hosts_yml, text) else "unchanged"))
    with t.phase("lab_demo.yml") as note:
        demo = run_playbook(
            root / "ansible" / "playbooks" / "lab_demo.yml",
            logs / "lab_demo.log",
            echo,
            stream,
            extra=["-e", f"obs_lab_obsctl_image_facts={standins.facts_file()}"],
        )
        note.append(demo.summary())
    sideload(t, echo)
    with t.phase("site.yml") as note:
        site = run_playbook(root / "ansible" / "site.yml", logs / "site.log", echo, stream)
        result.site_recap = site
        note.append(site.summary())
    with t.phase("alerting stand-in") as note:
        note.append(f"{standins.ALERTMANAGER_CONTAINER} {standins.ensure_alertmanager()}")
    if run_verify:
        with t.phase("verify") as note:
            result.verify_exit = verify_lab(echo)
            note.append("ok" if result.verify_exit == 0 else "FAILED")
    echo(t.render())
    return result


def sideload(t: Timings, echo: Callable[[str], None]) -> None:
    """Images mon-1's Docker cannot pull here, copied in from this machine's Docker."""
    with t.phase("side-load substitutes") as note:
        if os.environ.get(UPSTREAM_IMAGES_ENV) == "1":
            note.append(f"none ({UPSTREAM_IMAGES_ENV}=1: the pinned upstream images only)")
        for image in [] if os.environ.get(UPSTREAM_IMAGES_ENV) == "1" else substitute_images():
            loaded = docker.sideload_image(monitoring_host().container, image)
            note.append(f"{image} {'loaded' if loaded else 'present'}")
        # Lab shortcut and lab stand-in (obsctl/lab/standins.py): the obsctl image, built here with
        # the role's tag, and Debian's Alertmanager standing in for Grafana's alerting.
        note.extend(standins.sideload(echo))


def start_local_aws(t: Timings, state: Path) -> localaws.LocalAws:
    """The lab network, then the emulator on its gateway (reused when it still runs)."""
    with t.phase("lab network") as note:
        # First: the emulator listens on the network's gateway address, where mon-1 reaches it.
        note.append("created" if docker.ensure_network() else "present")
    with t.phase("local AWS (moto)") as note:
        state_file, log_file = _moto_files(state)
        aws = localaws.attach(state_file)
        if aws is not None and not aws.endpoint.startswith(f"http://{GATEWAY}:"):
            # Recorded by an older lab on the loopback address, which mon-1 cannot reach.
            localaws.stop_detached(state_file)
            aws = None
            note.append("stopped the emulator on the loopback address")
        if aws is None:
            # No live emulator means the emulated account (and the state bucket in it) is gone:
            # the cached Terraform data directory would point at nothing, so start clean.
            shutil.rmtree(state / "terraform", ignore_errors=True)
            aws = localaws.start_detached(state_file, log_file, host=GATEWAY)
            note.append(f"started pid {aws.pid} on {aws.endpoint}")
        else:
            note.append(f"reused pid {aws.pid} on {aws.endpoint}")
    return aws


def start_hosts(t: Timings, aws: localaws.LocalAws, outputs: dict[str, Any], keys: access.Keys) -> None:
    """Seed mon-1 with the launched instance's user_data, start the hosts, wait for cloud-init."""
    extra: dict[str, list[str]] = {}
    for host in HOSTS:
        if host.first_contact:
            # The one stand-in for "the customer's existing server": its admin login accepts the
            # lab's key (on a real server the operator's key is already authorized).
            pub = keys.ssh_private.with_suffix(".pub")
            extra[host.name] = ["-v", f"{pub}:{AUTHORIZED_KEYS_DIR}/{ADMIN_USER}:ro"]
    with t.phase("user_data + data volume") as note:
        instance_id = str(outputs["monitoring_instance_id"])
        for host in HOSTS:
            if not host.cloud_init:
                continue
            user_data = boot.instance_user_data(aws, instance_id)
            changed = boot.write_seed(host, user_data, instance_id, aws)
            device = boot.ensure_data_volume(host, boot.volume_size_gib(aws, str(outputs["data_volume_id"])))
            extra[host.name] = boot.run_extra(host, device)
            note.append(f"{host.name}: seed {'written' if changed else 'unchanged'} ({len(user_data)} B), {device}")
    with t.phase("lab hosts") as note:
        for host in HOSTS:
            note.append(f"{host.name} {docker.ensure_host(host, extra.get(host.name, ()))}")
    with t.phase("cloud-init") as note:
        for host in HOSTS:
            if host.cloud_init:
                boot.wait_cloud_init(host.container)
                note.append(f"{host.name}: " + ", ".join(boot.check_instance(host.container, aws, outputs)))


def substitute_images() -> list[str]:
    """The Debian-built substitutes that exist on this machine (built by `obsctl images build`)."""
    return [f"{images.IMAGE_PREFIX}/{r}:latest" for r in SUBSTITUTE_RECIPES if images.image_id(f"obs/{r}:latest")]


# Role variable of each upstream image -> the recipe of its Debian-built substitute.
_SUBSTITUTES = {s.variable: s.recipe for s in tools.SUBSTITUTES}


def upstream_image(variable: str) -> str:
    """The pinned upstream image, read from the role's defaults (the one place it is written)."""
    return tools.pinned_image(variable)


# Set by the online CI, where registries answer (the same switch the Molecule scenarios read).
UPSTREAM_IMAGES_ENV = "OBS_UPSTREAM_IMAGES"


def monitoring_vars() -> dict[str, Any]:
    """Lab-only settings of mon-1: skip what cannot be had here, and use a Debian-built substitute
    only where the pinned upstream image is neither present nor pullable (a machine with registry
    access runs the real upstream images).

    With OBS_UPSTREAM_IMAGES=1 (the online CI, .github/workflows/ci.yml) every pinned upstream image
    is required: no substitute, and a missing image fails site.yml (policy ``fail``) instead of
    becoming a skip, so a wrong upstream tag is caught."""
    if os.environ.get(UPSTREAM_IMAGES_ENV) == "1":
        return {"monitoring_stack_missing_image_policy": "fail", **standins.OBSCTL_IMAGE_VARS, **standins.drill_vars()}
    mon: dict[str, Any] = {"monitoring_stack_missing_image_policy": "skip"}
    present = set(substitute_images())
    for variable, recipe in _SUBSTITUTES.items():
        substitute = f"{images.IMAGE_PREFIX}/{recipe}:latest"
        if substitute not in present:
            continue
        upstream = upstream_image(variable)
        if images.image_id(upstream) is None and not images.try_pull(upstream):
            mon[variable] = substitute
    # The obsctl image's base (built here, lab shortcut): the Debian-built stand-in for -slim.
    base = upstream_image("monitoring_stack_obsctl_base_image")
    slim = f"{images.IMAGE_PREFIX}/{standins.OBSCTL_BASE_RECIPE}:latest"
    if images.image_id(slim) and images.image_id(base) is None and not images.try_pull(base):
        mon["monitoring_stack_obsctl_base_image"] = slim
    return {**mon, **standins.OBSCTL_IMAGE_VARS, **standins.drill_vars()}


def verify_lab(echo: Callable[[str], None] = print) -> int:
    from obsctl import verify  # noqa: PLC0415 - keeps `lab status` light

    hosts = verify.load_inventory(inventory_dir(), vault_password_file())
    transport = tunnel_transport(hosts)
    password = secrets.read(vault_file(), vault_password_file()).get("vault_grafana_admin_password")
    report = verify.verify(hosts, transport, password, local_wg=verify.local_handshakes())
    echo(report.render())
    return 1 if report.failed else 0


def tunnel_transport(hosts: list[verify.Host]) -> verify.TunnelTransport:
    """As in prod: HTTP to mon-1's tunnel address from this machine, host commands through
    Ansible over SSH at the tunnel addresses."""
    from obsctl import verify  # noqa: PLC0415 - keeps `lab status` light

    mon = next(h for h in hosts if h.name == monitoring_host().name)
    return verify.TunnelTransport(
        inventory_dir(), str(mon.vars["wireguard_address"]), ["--vault-password-file", str(vault_password_file())]
    )


def down(echo: Callable[[str], None] = print) -> list[str]:
    state = lab_state()
    removed = []
    if access.remove_tunnel():
        removed.append(f"WireGuard interface {OPERATOR_INTERFACE} (this machine's operator peer)")
    removed += docker.remove_all()
    for host in HOSTS:
        # After the container is gone: the loop device is free to detach, then its file goes
        # with the state directory.
        device = boot.detach_data_volume(host) if host.cloud_init else None
        if device:
            removed.append(f"loop device {device} ({host.name}'s data volume)")
    if localaws.stop_detached(_moto_files(state)[0]):
        removed.append("moto (local AWS and every emulated resource in it)")
    removed += secrets.remove(vault_file(), vault_password_file())
    if state.exists():
        shutil.rmtree(state)
        removed.append(str(state))
    for line in removed:
        echo(f"removed {line}")
    if not removed:
        echo("nothing to remove: the lab is not up")
    return removed


def status(echo: Callable[[str], None] = print) -> int:
    state = lab_state()
    aws = localaws.attach(_moto_files(state)[0])
    echo(f"local AWS (moto): {f'pid {aws.pid} on {aws.endpoint}' if aws else 'not running'}")
    up_count = 0
    for host in HOSTS:
        st = docker.container_state(host.container)
        label = "running" if st.running else ("stopped" if st.exists else "absent")
        up_count += st.running
        echo(f"{host.name:6} {host.container:16} {label}")
    outputs = state / "terraform-outputs.json"
    echo(f"terraform outputs: {outputs if outputs.exists() else 'none (no apply yet)'}")
    for host in HOSTS:
        if docker.container_state(host.container).running:
            count, rss, pss = docker.process_tree_memory(host.container)
            echo(f"memory {host.name}: {pss / 2**20:.0f} MiB PSS ({rss / 2**20:.0f} MiB RSS) in {count} processes")
    return 0 if up_count == len(HOSTS) and aws else 1
