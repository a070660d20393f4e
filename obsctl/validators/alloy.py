"""Alloy config.alloy: syntax, component references, duplicate labels, endpoints and listeners."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from obsctl.alloy_syntax import AlloySyntaxError, Block, Document, Reference, parse, references_in

# What each component this project may render exports (Alloy reference documentation, one page
# per component). A name missing here is reported, so a typo like "prometheus.remotewrite" is
# caught before the file reaches a host.
EXPORTS: dict[str, frozenset[str]] = {
    "prometheus.exporter.unix": frozenset({"targets"}),
    "prometheus.exporter.self": frozenset({"targets"}),
    "prometheus.scrape": frozenset(),
    "prometheus.remote_write": frozenset({"receiver"}),
    "prometheus.relabel": frozenset({"receiver", "rules"}),
    "discovery.relabel": frozenset({"output", "rules"}),
    "discovery.docker": frozenset({"targets"}),
    "local.file_match": frozenset({"targets"}),
    "loki.source.file": frozenset(),
    "loki.source.journal": frozenset(),
    "loki.source.docker": frozenset(),
    "loki.process": frozenset({"receiver"}),
    "loki.relabel": frozenset({"receiver", "rules"}),
    "loki.write": frozenset({"receiver"}),
    "otelcol.receiver.otlp": frozenset(),
    "otelcol.processor.batch": frozenset({"input"}),
    "otelcol.processor.transform": frozenset({"input"}),
    "otelcol.exporter.otlp": frozenset({"input"}),
    "otelcol.exporter.otlphttp": frozenset({"input"}),
}

# The arguments and blocks each otelcol component may have, by name (None: an argument, or a block
# not walked further). From the Alloy reference pages of these components
# (https://grafana.com/docs/alloy/latest/reference/components/otelcol/<component>/ and the shared
# queue, retry and TLS blocks): an argument of another component or a misspelt one is reported.
_OUTPUT = {"metrics": None, "logs": None, "traces": None}
_TLS_CLIENT = dict.fromkeys(
    [
        "ca_file",
        "ca_pem",
        "cert_file",
        "cert_pem",
        "key_file",
        "key_pem",
        "insecure",
        "insecure_skip_verify",
        "server_name",
        "min_version",
        "max_version",
        "reload_interval",
        "cipher_suites",
        "include_system_ca_certs_pool",
    ]
)
ARGUMENTS: dict[str, dict[str, object]] = {
    "otelcol.receiver.otlp": {
        "grpc": dict.fromkeys(
            (
                "auth",
                "endpoint",
                "include_metadata",
                "max_concurrent_streams",
                "max_recv_msg_size",
                "read_buffer_size",
                "transport",
                "write_buffer_size",
                "keepalive",
                "tls",
            )
        ),
        "http": dict.fromkeys(
            (
                "auth",
                "compression_algorithms",
                "endpoint",
                "idle_timeout",
                "include_metadata",
                "keep_alives_enabled",
                "logs_url_path",
                "max_request_body_size",
                "metrics_url_path",
                "read_header_timeout",
                "read_timeout",
                "traces_url_path",
                "write_timeout",
                "cors",
                "tls",
            )
        ),
        "output": _OUTPUT,
        "debug_metrics": None,
    },
    "otelcol.processor.transform": {
        "error_mode": None,
        "trace_statements": {"context": None, "statements": None},
        "metric_statements": {"context": None, "statements": None},
        "log_statements": {"context": None, "statements": None},
        "output": _OUTPUT,
        "debug_metrics": None,
    },
    "otelcol.processor.batch": {
        "timeout": None,
        "send_batch_size": None,
        "send_batch_max_size": None,
        "metadata_keys": None,
        "metadata_cardinality_limit": None,
        "output": _OUTPUT,
        "debug_metrics": None,
    },
    "otelcol.exporter.otlp": {
        "timeout": None,
        "client": {
            **dict.fromkeys(
                (
                    "endpoint",
                    "auth",
                    "authority",
                    "balancer_name",
                    "compression",
                    "headers",
                    "read_buffer_size",
                    "wait_for_ready",
                    "write_buffer_size",
                    "keepalive",
                )
            ),
            "tls": _TLS_CLIENT,
        },
        "sending_queue": dict.fromkeys(
            ("blocking", "block_on_overflow", "enabled", "num_consumers", "queue_size", "sizer", "storage")
        ),
        "retry_on_failure": dict.fromkeys(
            ("enabled", "initial_interval", "randomization_factor", "multiplier", "max_interval", "max_elapsed_time")
        ),
        "debug_metrics": None,
    },
}

# Components that start a pipeline: nothing needs to reference them.
SOURCES = frozenset(
    {
        "prometheus.scrape",
        "loki.source.file",
        "loki.source.journal",
        "loki.source.docker",
        "otelcol.receiver.otlp",
    }
)

# Components whose ``forward_to`` must list receivers.
FORWARDERS = frozenset(
    {
        "prometheus.scrape",
        "prometheus.relabel",
        "loki.source.file",
        "loki.source.journal",
        "loki.source.docker",
        "loki.process",
        "loki.relabel",
    }
)

# Roots of references that are the standard library, not components.
STDLIB_ROOTS = frozenset(
    {"constants", "sys", "env", "string", "encoding", "array", "convert", "json_path", "coalesce", "format", "join"}
)

# Configuration blocks without a label (not components).
UNLABELLED_BLOCKS = frozenset({"logging", "livedebugging", "tracing", "http", "remotecfg"})


def _component_id(block: Block) -> str:
    return f"{block.name}.{block.label}"


def _check_references(doc: Document, problems: list[str]) -> set[str]:
    declared = {_component_id(b): b for b in doc.components()}
    used: set[str] = set()
    for block in doc.components():
        for inner in block.walk():
            for attr in inner.attributes:
                for ref in references_in(attr.value):
                    _resolve(ref, declared, used, problems)
    return used


def _resolve(ref: Reference, declared: dict[str, Block], used: set[str], problems: list[str]) -> None:
    if ref.path[0] in STDLIB_ROOTS:
        return
    for cut in range(len(ref.path) - 1, 0, -1):
        candidate = ".".join(ref.path[:cut])
        if candidate in declared:
            export = ref.path[cut]
            kind = declared[candidate].name
            allowed = EXPORTS.get(kind)
            if allowed is not None and export not in allowed:
                problems.append(
                    f"line {ref.line}: {ref.dotted()}: {kind} exports {sorted(allowed) or 'nothing'}, not '{export}'"
                )
            used.add(candidate)
            return
    problems.append(f"line {ref.line}: reference '{ref.dotted()}' does not name a declared component")


def _check_forward_to(block: Block, problems: list[str]) -> None:
    value = block.attr("forward_to")
    if value is None:
        problems.append(f"line {block.line}: {_component_id(block)} has no forward_to: its data goes nowhere")
        return
    if not isinstance(value, list):
        problems.append(f"line {block.line}: {_component_id(block)}: forward_to must be a list")
        return
    # A relabel component used only for its `rules` export legitimately forwards nowhere.
    if not value and not block.name.endswith(".relabel"):
        problems.append(f"line {block.line}: {_component_id(block)}: forward_to is empty: its data goes nowhere")
        return
    for item in value:
        if not isinstance(item, Reference) or item.path[-1] != "receiver":
            problems.append(
                f"line {block.line}: {_component_id(block)}: forward_to entries must be '<component>.receiver'"
            )


def _host_of(endpoint: str) -> str:
    if "://" in endpoint:
        return urlsplit(endpoint).hostname or ""
    return endpoint.rsplit(":", 1)[0].strip("[]")


def _is_loopback_or_any(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified


def endpoints(doc: Document) -> list[tuple[str, int, str]]:
    """(component id, line, address) of every place the config sends data to."""
    out: list[tuple[str, int, str]] = []
    for block in doc.components():
        if block.name in ("prometheus.remote_write", "loki.write"):
            for endpoint in block.children("endpoint"):
                url = endpoint.attr("url")
                out.append((_component_id(block), endpoint.line, url if isinstance(url, str) else ""))
        if block.name.startswith("otelcol.exporter."):
            for client in block.children("client"):
                url = client.attr("endpoint")
                out.append((_component_id(block), client.line, url if isinstance(url, str) else ""))
    return out


def _check_endpoints(doc: Document, problems: list[str]) -> None:
    for component, line, address in endpoints(doc):
        if not address:
            problems.append(f"line {line}: {component}: endpoint has no literal address")
            continue
        if "://" in address and urlsplit(address).scheme not in ("http", "https"):
            problems.append(f"line {line}: {component}: endpoint {address!r} is not an http(s) URL")
        if _is_loopback_or_any(_host_of(address)):
            problems.append(
                f"line {line}: {component}: endpoint {address!r} points at this host, not the monitoring server"
            )
    for block in doc.components():
        if block.name == "otelcol.receiver.otlp":
            for proto in (b for b in block.blocks if b.name in ("grpc", "http")):
                listen = proto.attr("endpoint")
                if not isinstance(listen, str) or _host_of(listen) not in ("127.0.0.1", "localhost", "::1"):
                    problems.append(
                        f"line {proto.line}: {_component_id(block)}: the OTLP {proto.name} listener must be bound "
                        f"to localhost, got {listen!r}"
                    )


def _check_arguments(block: Block, allowed: dict[str, object], where: str, problems: list[str]) -> None:
    names = [(a.name, a.line) for a in block.attributes] + [(b.name, b.line) for b in block.blocks]
    for name, line in names:
        if name not in allowed:
            problems.append(
                f"line {line}: {where}: '{name}' is not an argument or block of it "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
    for child in block.blocks:
        inner = allowed.get(child.name)
        if isinstance(inner, dict):
            _check_arguments(child, inner, f"{where} > {child.name}", problems)


def check_document(doc: Document) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for block in doc.blocks:
        if block.label is None:
            if block.name not in UNLABELLED_BLOCKS:
                problems.append(f'line {block.line}: component {block.name} needs a label (e.g. {block.name} "main")')
            continue
        cid = _component_id(block)
        if cid in seen:
            problems.append(f"line {block.line}: duplicate component {cid} (first declared on line {seen[cid]})")
        seen.setdefault(cid, block.line)
        if block.name not in EXPORTS:
            problems.append(f"line {block.line}: {block.name} is not a component this checker knows (a typo?)")
        if block.name in FORWARDERS:
            _check_forward_to(block, problems)
        if block.name in ARGUMENTS:
            _check_arguments(block, ARGUMENTS[block.name], cid, problems)
    used = _check_references(doc, problems)
    for block in doc.components():
        cid = _component_id(block)
        if block.name not in SOURCES and cid not in used:
            problems.append(f"line {block.line}: {cid} is declared but nothing references it")
    _check_endpoints(doc, problems)
    return problems


def check(path: Path) -> list[str]:
    """Problems in the Alloy configuration at ``path``; an empty list means it passed every check."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    except UnicodeDecodeError:
        return [f"{path}: not UTF-8 text (an Alloy configuration is a UTF-8 text file)"]
    try:
        doc = parse(text)
    except AlloySyntaxError as exc:
        return [f"{path}: {exc.message}"]
    return [f"{path}: {p}" for p in check_document(doc)]


def check_endpoints_point_at(path: Path, host: str) -> list[str]:
    """Problems when any output endpoint of the config at ``path`` is not on ``host`` (the tunnel address)."""
    try:
        doc = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, AlloySyntaxError) as exc:
        return [f"{path}: {exc}"]
    return [
        f"{path}: line {line}: {component}: endpoint {address!r} is not on the tunnel address {host}"
        for component, line, address in endpoints(doc)
        if _host_of(address) != host
    ]
