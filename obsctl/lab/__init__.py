"""The lab: the whole platform on one machine (local AWS, systemd containers, site.yml, verify).

Modules: ``layout`` (names and addresses, defined once), ``docker`` (network, host containers,
image side-loading), ``terraform`` (apply of the root module against the detached moto from
:mod:`obsctl.localaws`), ``secrets`` (the generated, vault-encrypted lab secrets), ``inventory``
(inventories/lab/hosts.yml), ``recap`` (PLAY RECAP parsing) and ``orchestrate``
(``obsctl lab up|down|status``).
"""
