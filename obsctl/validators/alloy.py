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
    "otelcol.exporter.otlp": frozenset({"input"}),
    "otelcol.exporter.otlphttp": frozenset({"input"}),
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
