"""Hosts: CPU, memory, disk and network of every machine (node_exporter / Alloy unix)."""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "hosts"

_DISK_DO = (
    "`du -xh --max-depth=2 / | sort -h | tail` on the host; clear old logs/images "
    "(`docker system prune`), or grow the EBS volume."
)


def build() -> Page:
    m = 'instance=~"$host"'
    return Page(
        UID,
        "Hosts",
        "CPU, memory, disk and network per host.",
        variables=[variables.host()],
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Host alerts firing or pending for the selected hosts.",
                "Any entry: a host resource is exhausted or about to be.",
                "Follow the alert's runbook.",
            ),
            'instance=~"$host"',
        ),
        status(
            "Hosts down",
            Q("hosts_down_count"),
            m,
            Advice(
                "Hosts whose metrics stopped arriving.",
                "Above 0: the host is down, or its agent or tunnel is.",
                "Ping its tunnel address; check `wg show` and the Alloy agent (self-health dashboard).",
                "service-down",
            ),
            Level(1, 1),
        ),
        status(
            "Disks full within 24h",
            Q("disks_filling_count"),
            m,
            Advice(
                "Mount points that will be full within 24 hours at the last 6 hours' rate.",
                "Above 0: a disk fills up today.",
                _DISK_DO,
                "disk-full-critical",
            ),
            Level(1, 1),
        ),
        kpi(
            "CPU",
            Q("host_cpu_used_ratio"),
            m,
            Advice(
                "CPU busy share per host.",
                "Above 80% for 5 minutes warns (P3).",
                "`top` on the host to find the process; scale up if it is real load.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        kpi(
            "Memory",
            Q("host_memory_used_ratio"),
            m,
            Advice(
                "Memory in use per host (not available for new allocations).",
                "Above 90% pages (P2): the OOM killer is next.",
                "Find the process (`ps aux --sort=-rss | head`); lower its limits or add memory.",
                "host-memory-high",
            ),
            Level(0.8, 0.9),
            unit="percentunit",
        ),
        kpi(
            "Network in",
            Q("host_network_rx_bytes_rate"),
            m,
            Advice(
                "Bytes received per second per host.",
                "A sudden jump without more requests: a transfer, backup or attack.",
                "Check nginx access logs and the tunnel peers.",
            ),
            unit="Bps",
        ),
        kpi(
            "Disk used",
            Q("host_disk_used_ratio"),
            m,
            Advice(
                "Space in use per mount point.",
                "Above 80% warns; above 95% pages (P1).",
                _DISK_DO,
                "disk-full-critical",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        trend(
            "CPU busy",
            [Q("host_cpu_used_ratio", "{{instance}}")],
            m,
            Advice(
                "CPU busy share per host.",
                "Sustained above 80%.",
                "Find the process with `top`; compare with deployments.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        trend(
            "Memory used",
            [Q("host_memory_used_ratio", "{{instance}}")],
            m,
            Advice(
                "Memory in use per host.",
                "Rising steadily without falling back: a leak.",
                "Find the growing process; restart it after taking a dump.",
                "host-memory-high",
            ),
            Level(0.8, 0.9),
            unit="percentunit",
        ),
        trend(
            "Disk used",
            [Q("host_disk_used_ratio", "{{instance}} {{mountpoint}}")],
            m,
            Advice(
                "Space in use per mount point.",
                "Lines approaching the red line.",
                _DISK_DO,
                "disk-full-critical",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        trend(
            "Load per core",
            [Q("host_load1_per_core", "{{instance}}")],
            m,
            Advice(
                "1-minute load average divided by the number of cores.",
                "Above 1: processes wait for CPU or disk.",
                "Check CPU and disk busy; on t4g instances also the CPU credit balance.",
            ),
            Level(1, 2),
        ),
        trend(
            "Network",
            [Q("host_network_rx_bytes_rate", "in {{instance}}"), Q("host_network_tx_bytes_rate", "out {{instance}}")],
            m,
            Advice(
                "Bytes per second in and out per host.",
                "Unexpected spikes or a flat 0 on a busy host.",
                "Check the tunnel (wg show) and the application traffic.",
            ),
            unit="Bps",
        ),
        trend(
            "Disk busy",
            [Q("host_disk_io_busy_ratio", "{{instance}} {{device}}")],
            m,
            Advice(
                "Share of time each block device was busy.",
                "Near 100%: the disk is the bottleneck (EBS burst credits?).",
                "Find the writer (`iotop`); move to gp3 with more IOPS if sustained.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        detail_table(
            "Hosts",
            [
                Column(Q("host_uptime_seconds"), "Uptime", "s", Level(3600, 600, higher_is_bad=False)),
                Column(Q("host_cpu_used_ratio"), "CPU", "percentunit", Level(0.8, 0.95)),
                Column(Q("host_memory_used_ratio"), "Memory", "percentunit", Level(0.8, 0.9)),
                Column(Q("host_load1_per_core"), "Load/core", "short", Level(1, 2)),
            ],
            m,
            Advice(
                "Every host with its resources now.",
                "Red cells; a short uptime means an unplanned reboot.",
                "Open the host's trends above (select it in the Host variable).",
            ),
            hide=["__name__", "job", "host"],
        ),
        detail_table(
            "Disks",
            [
                Column(Q("host_disk_used_ratio"), "Used", "percentunit", Level(0.8, 0.95)),
                Column(Q("host_disk_avail_predicted_24h"), "Free in 24h", "bytes", Level(1e9, 0, higher_is_bad=False)),
            ],
            m,
            Advice(
                "Each real mount point: used share and the free space forecast for tomorrow.",
                "'Free in 24h' at or below 0 means full before then.",
                _DISK_DO,
                "disk-full-critical",
            ),
            hide=["__name__", "job", "host", "fstype", "device"],
        ),
    )
