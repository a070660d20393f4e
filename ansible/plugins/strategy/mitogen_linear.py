"""Ansible's linear strategy run through Mitogen, or plain linear when Mitogen is not installed.

ansible.cfg selects this plugin (`strategy = mitogen_linear`). Mitogen keeps one Python
interpreter per host (and per become user) for the whole run, and sends each module to it over
the one SSH connection, instead of starting `python3` under `sudo` for every task: the warm
site.yml against the lab went from 58 s to 29 s with the same tasks and results
(benchmarks/lab.md, "Re-run speed").

Mitogen's own plugin file lives inside its installed package (site-packages/ansible_mitogen/
plugins/strategy), a path that differs per virtualenv; this shim gives ansible.cfg one
relative path and does what that file does. If `mitogen` is not importable (Ansible run from
a Python without requirements.txt), the run goes on with Ansible's own linear strategy, after
a warning that says how to get the fast one. One adaptation: an inventory's
`-o StrictHostKeyChecking=accept-new` keeps its meaning under Mitogen (see below).
`ANSIBLE_STRATEGY=linear` turns Mitogen off for one run (for instance to compare, or to rule it
out when a task behaves unexpectedly).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from ansible.plugins.loader import strategy_loader
from ansible.utils.display import Display


class _Spec(Protocol):
    """What the wrapper reads of Mitogen's connection spec."""

    def ssh_args(self) -> list[str]: ...


_Connect = Callable[[_Spec], dict[str, Any]]


try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as error:  # Mitogen is optional at run time: fall back to plain linear.
    Display().warning(
        f"mitogen_linear: Mitogen cannot be imported ({error}); this run uses Ansible's linear "
        "strategy, which is slower (one Python start per task). Install the pinned tooling with "
        "`make setup` or `pip install -r requirements.txt` in the Python that runs Ansible."
    )
    StrategyModule = strategy_loader.get("linear", class_only=True)
else:
    import ansible_mitogen.connection

    _Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)
    _ACCEPT_NEW = re.compile(r"^StrictHostKeyChecking[ =]+accept-new$", re.IGNORECASE)

    def _host_keys_as_the_inventory_says(connect: _Connect) -> _Connect:
        """Mitogen's SSH connection, honouring `-o StrictHostKeyChecking=accept-new` in the ssh args.

        Mitogen puts its own `-o StrictHostKeyChecking yes` (host_key_checking on) in front of the
        inventory's ssh args, and ssh keeps the first value it is given, so an inventory's
        accept-new (what stock Ansible passes through) would be overridden and a host not yet in
        known_hosts refused. Mitogen's `accept` mode is the same policy: a new host's key is
        answered yes and recorded, a changed key is still refused by ssh.
        """

        def connect_ssh(spec: _Spec) -> dict[str, Any]:
            method = connect(spec)
            args = [*spec.ssh_args()]
            options = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-o"]
            options += [arg[2:] for arg in args if arg.startswith("-o") and len(arg) > 2]
            if method["kwargs"].get("check_host_keys") == "enforce" and any(_ACCEPT_NEW.match(o) for o in options):
                method["kwargs"]["check_host_keys"] = "accept"
            return method

        return connect_ssh

    for _name in ("ssh", "smart"):
        ansible_mitogen.connection.CONNECTION_METHOD[_name] = _host_keys_as_the_inventory_says(
            ansible_mitogen.connection.CONNECTION_METHOD[_name]
        )

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
        """Mitogen's connection handling on top of Ansible's linear strategy."""
