"""JVM: one dashboard for every Spring Boot service, templated by application.

api uses the HikariCP pool DoktoriHikariPool, chat uses ChatHikariPool with Tomcat max threads
100; the pool variable follows the selected application, so both read the right pool.
"""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "jvm"


def build() -> Page:
    m = 'app="$app",instance=~"$instance"'
    mp = m + ',pool=~"$pool"'
    return Page(
        UID,
        "JVM",
        "Heap, GC, threads, HikariCP and Tomcat of one Spring Boot application.",
        variables=[
            variables.app("jvm_memory_used_bytes", multi=False),
            variables.prom_var(
                "instance", "Instance", 'label_values(jvm_memory_used_bytes{app="$app"}, instance)', multi=True
            ),
            variables.prom_var("pool", "Pool", 'label_values(hikaricp_connections_max{app="$app"}, pool)', multi=True),
        ],
    ).add(
        alert_list(
            "Firing alerts for $app",
            Advice(
                "Alerts firing or pending for the selected application.",
                "Any entry: the application is degraded now.",
                "Follow the runbook linked in the alert; the panels below show which resource is short.",
            ),
            'app="$app"',
        ),
        status(
            "Heap used",
            Q("jvm_heap_used_ratio"),
            m,
            Advice(
                "Heap in use as a share of -Xmx (highest instance).",
                "Above 85% after GC the JVM spends its time collecting and latency climbs; at 100% it "
                "throws OutOfMemoryError.",
                "Check 'GC pauses' below; take a heap dump (jcmd <pid> GC.heap_dump) before restarting, "
                "then raise -Xmx or fix the leak.",
            ),
            Level(0.85, 0.95),
            unit="percentunit",
        ),
        status(
            "DB connections waiting",
            Q("hikari_pending"),
            mp,
            Advice(
                "Threads waiting for a connection from the HikariCP pool.",
                "Above 0 for more than a moment: the pool is exhausted and requests stall or time out.",
                "Look for slow queries or leaked connections; raise maximum-pool-size only if the database has room.",
                "hikari-pending",
            ),
            Level(1, 5),
        ),
        kpi(
            "Heap used",
            Q("jvm_heap_used_ratio"),
            m,
            Advice(
                "Heap in use as a share of the maximum.",
                "Steadily rising between GCs = a leak; flat above 85% = heap too small.",
                "Compare with the last deployment marker; take a heap dump if it keeps rising.",
            ),
            Level(0.85, 0.95),
            unit="percentunit",
        ),
        kpi(
            "Longest GC pause",
            Q("jvm_gc_pause_max"),
            m,
            Advice(
                "Longest stop-the-world GC pause in the recent window.",
                "Above 500 ms every request in flight waits that long.",
                "Check heap usage; tune the collector or the heap size.",
            ),
            Level(0.2, 0.5),
            unit="s",
        ),
        kpi(
            "Tomcat threads busy",
            Q("tomcat_busy_ratio"),
            m,
            Advice(
                "Busy Tomcat worker threads as a share of server.tomcat.threads.max (chat: 100).",
                "Near 100% new requests queue in the accept backlog.",
                "Find what the threads wait on (thread dump: jcmd <pid> Thread.print); usually the "
                "database pool or a slow downstream.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        kpi(
            "DB pool in use",
            Q("hikari_usage_ratio"),
            mp,
            Advice(
                "Share of the HikariCP pool's connections in use.",
                "At 100% callers start waiting (see 'DB connections waiting').",
                "Look for slow queries first; then consider a larger pool.",
                "hikari-pending",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        trend(
            "Heap used vs. max",
            [Q("jvm_heap_used_bytes", "used {{instance}}"), Q("jvm_heap_max_bytes", "max {{instance}}")],
            m,
            Advice(
                "Heap used and its configured maximum per instance.",
                "A saw-tooth whose floor rises over hours is a leak.",
                "Take a heap dump and compare two dumps an hour apart.",
            ),
            unit="bytes",
        ),
        trend(
            "GC pauses",
            [Q("jvm_gc_pause_max", "longest {{instance}}"), Q("jvm_gc_time_ratio", "time share {{instance}}")],
            m,
            Advice(
                "Longest pause (s) and the share of time spent in GC.",
                "Pauses above 500 ms or GC time above 10% of wall clock.",
                "Raise the heap or reduce allocation; check the heap panel.",
            ),
            Level(0.2, 0.5),
            unit="s",
        ),
        trend(
            "HikariCP connections",
            [
                Q("hikari_active", "active {{pool}}"),
                Q("hikari_idle", "idle {{pool}}"),
                Q("hikari_pending", "pending {{pool}}"),
                Q("hikari_max", "max {{pool}}"),
            ],
            mp,
            Advice(
                "Active, idle and pending connections of the pool, with its maximum.",
                "Active at max with pending above 0: requests wait for the database.",
                "Find the slow query (database slow log) or the code path that holds connections.",
                "hikari-pending",
            ),
        ),
        trend(
            "Tomcat threads",
            [Q("tomcat_threads_busy", "busy {{instance}}"), Q("tomcat_threads_max", "max {{instance}}")],
            m,
            Advice(
                "Busy worker threads against server.tomcat.threads.max.",
                "Busy touching max: the service cannot take more concurrent requests.",
                "Take a thread dump to see what they wait on before adding threads.",
            ),
        ),
        trend(
            "JVM threads by state",
            [Q("jvm_threads_by_state", "{{state}}")],
            m,
            Advice(
                "Live threads by state.",
                "Many BLOCKED threads = lock contention; steadily rising total = a thread leak.",
                "Thread dump (jcmd <pid> Thread.print) and look for the shared lock.",
            ),
        ),
        trend(
            "Process CPU",
            [Q("process_cpu_ratio", "{{instance}}")],
            m,
            Advice(
                "CPU used by the JVM process (share of the host's CPUs).",
                "Above 80% with high GC time = heap pressure; without = real load.",
                "Check GC first, then profile or scale out.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        detail_table(
            "Instances",
            [
                Column(Q("process_uptime_seconds"), "Uptime", "s", Level(600, 300, higher_is_bad=False)),
                Column(Q("jvm_heap_used_ratio"), "Heap", "percentunit", Level(0.85, 0.95)),
                Column(Q("jvm_threads_live"), "Threads"),
                Column(Q("service_restarts"), "Restarts 15m", "short", Level(1, 3)),
            ],
            m,
            Advice(
                "One row per instance of the application.",
                "Short uptime or restarts above 0: the JVM crashed or was killed (OOM killer?).",
                "Check `journalctl -k | grep -i oom` and the application log around the restart.",
            ),
        ),
        detail_table(
            "HikariCP timeouts (1h)",
            [Column(Q("hikari_timeouts_1h"), "Timeouts", "short", Level(1, 10))],
            mp,
            Advice(
                "Requests that gave up waiting for a database connection in the last hour, per pool.",
                "Any timeout is a failed user request.",
                "Treat like pending connections: slow queries or a pool too small.",
                "hikari-pending",
            ),
        ),
    )
