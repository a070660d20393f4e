"""The signal catalog: which metrics and log streams exist, and the one expression per concept.

Dashboards (obsctl.dashboards), the alert catalog (alerting/catalog.yml) and the tests all take
their PromQL/LogQL from here, so a metric name or an expression is written once.
"""
