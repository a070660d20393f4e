"""Alerting as data: the catalog (alerting/catalog.yml) and everything generated from it.

- :mod:`obsctl.alerting.catalog` loads and validates the catalog.
- :mod:`obsctl.alerting.grafana` renders Grafana's alerting provisioning files.
- :mod:`obsctl.alerting.messages` builds the Discord/e-mail message templates with a length bound.
- :mod:`obsctl.alerting.promrules` translates PromQL alerts into Prometheus rules and promtool tests.
- :mod:`obsctl.alerting.ttd` computes the worst-case time to detect per severity.
"""
