"""The one look every dashboard shares: colours, sizes and datasource references (seed 000).

Colours mean the same on every panel: critical = act now, warning = watch, normal = fine,
info = context. Nothing else is used, so a red cell always means the same thing.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.models import dashboard as dm

CRITICAL: Final = "#ff4757"
WARNING: Final = "#ffa726"
NORMAL: Final = "#26a69a"
INFO: Final = "#5c6bc0"
PALETTE: Final = frozenset({CRITICAL, WARNING, NORMAL, INFO})

# Grafana's grid is 24 columns wide. Phones stack panels in (y, x) order, so the reading order
# on a laptop and on a phone is the same; at most four panels share a row.
GRID_WIDTH: Final = 24
MAX_PANELS_PER_ROW: Final = 4
ACT_HEIGHT: Final = 6
KPI_HEIGHT: Final = 5
TREND_HEIGHT: Final = 8
DETAIL_HEIGHT: Final = 9
# Stat values big enough to read at arm's length on a phone (Grafana's text sizes are px).
STAT_VALUE_SIZE: Final = 40
STAT_TITLE_SIZE: Final = 16

# Fixed datasource uids (docs/conventions.md): no ${DS_*} inputs, which file provisioning rejects.
PROMETHEUS: Final = dm.DataSourceRef(type_val="prometheus", uid="prometheus")
LOKI: Final = dm.DataSourceRef(type_val="loki", uid="loki")
# Grafana's own annotation store (where `obsctl annotate` writes).
GRAFANA: Final = dm.DataSourceRef(type_val="grafana", uid="-- Grafana --")

# Every generated dashboard carries this tag; the dashboard links list dashboards by it.
PLATFORM_TAG: Final = "obs-platform"
DEPLOYMENT_TAG: Final = "deployment"
