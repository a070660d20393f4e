"""Template variables shared by the dashboards, and the label matchers that use them.

Multi-value variables use ``.+`` as "All" so LogQL selectors stay valid (Loki rejects a stream
selector whose matchers all match the empty string, e.g. ``{app=~".*"}``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from obsctl.dashboards import style

ALL = ".+"


def prom_var(name: str, label: str, query: str, *, multi: bool, regex: str = "") -> db.QueryVariable:
    var = (
        db.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(style.PROMETHEUS)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if regex:
        var = var.regex(regex)
    return var.all_value(ALL) if multi else var


def loki_var(name: str, label: str, loki_label: str) -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(label)
        .query(f"label_values({loki_label})")
        .datasource(style.LOKI)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
    )


def app(metric: str, *, multi: bool) -> db.QueryVariable:
    return prom_var("app", "Application", f"label_values({metric}, app)", multi=multi)


def host(metric: str = "node_uname_info") -> db.QueryVariable:
    return prom_var("host", "Host", f"label_values({metric}, instance)", multi=True)
