"""Where every metric the platform reads comes from, and which metric names a PromQL text reads.

Each :class:`~obsctl.signals.metrics.Metric` names one :class:`Producer` below (its ``source``):
the thing that emits the series and the scrape job (``job`` label) under which the series reach
Prometheus. A producer is either deployed by the roles (a container of the monitoring stack, an
Alloy component on the hosts) or *application-side* (the customer's Spring Boot applications and
their Micrometer registry, the chat service's business metrics, the nginx exporter the hosts
already run): the platform only collects those, through the job named here.

``tests/contract/test_metric_provenance.py`` renders the roles' configs and proves both halves:
every name an alert rule or a dashboard reads has a producer here, and every producer's job (and
Alloy component) is really in the rendered configs. Metric names are taken from PromQL by
:func:`metric_names`, a tokenizer that knows PromQL's keywords, functions, label lists, label
matchers, strings and durations (and Grafana's ``$variables``), not by a regular expression over
the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Producer:
    """Who emits a family of series and how they reach Prometheus.

    ``jobs``: the ``job`` label values the series arrive under; at least one of them must be a
    scrape job of the rendered configs. Empty means "every scrape job" (series Prometheus and
    Alloy synthesise per target). ``alloy_component``: the Alloy component that must feed that
    job wherever an Alloy config scrapes it (the exporter really runs, not only a job name).
    ``application_side``: the series come from the customer's software, not from a role.
    """

    key: str
    what: str
    jobs: tuple[str, ...]
    alloy_component: str = ""
    application_side: bool = False


SCRAPE = Producer(
    "scrape",
    "synthesised by Prometheus and by Alloy's prometheus.scrape for every target they scrape",
    (),
)
MICROMETER = Producer(
    "micrometer",
    "Micrometer's Prometheus registry in each Spring Boot application (actuator /actuator/prometheus)",
    ("spring",),
    application_side=True,
)
CHAT_SERVICE = Producer(
    "chat-service",
    "the chat service's own business metrics, registered with its Micrometer registry (seed 000)",
    ("spring",),
    application_side=True,
)
NGINX_EXPORTER = Producer(
    "nginx-exporter",
    "nginx-prometheus-exporter on the application host (run there already), reading nginx's stub_status",
    ("nginx",),
    application_side=True,
)
NODE = Producer(
    "node",
    "Alloy's prometheus.exporter.unix (node_exporter's collectors) on migrated hosts; node_exporter on legacy ones",
    ("node",),
    alloy_component="prometheus.exporter.unix",
)
ALLOY = Producer(
    "alloy",
    "Alloy's own /metrics, exported by prometheus.exporter.self on every host that runs Alloy",
    ("alloy",),
    alloy_component="prometheus.exporter.self",
)
BLACKBOX = Producer("blackbox", "the monitoring stack's blackbox_exporter, one probe per target", ("blackbox",))
PROMETHEUS = Producer("prometheus", "the monitoring stack's Prometheus (its own /metrics)", ("prometheus",))
LOKI = Producer("loki", "the monitoring stack's Loki (its own /metrics)", ("loki",))
GRAFANA = Producer("grafana", "the monitoring stack's Grafana (its own /metrics)", ("grafana",))
ANALYZER = Producer(
    "analyzer",
    "the incident analyzer (obsctl analyzer serve, Compose service analyzer), its own /metrics",
    ("analyzer",),
)
SDB_AGENT = Producer(
    "sdb-agent",
    "the customer's SDB agent (multi-agent system, seed 002), its own Prometheus metrics; collected as an "
    "application of obs_apps (metrics_path: /metrics) by the applications job",
    ("spring",),
    application_side=True,
)

PRODUCERS: tuple[Producer, ...] = (
    SCRAPE,
    MICROMETER,
    CHAT_SERVICE,
    NGINX_EXPORTER,
    NODE,
    ALLOY,
    BLACKBOX,
    PROMETHEUS,
    LOKI,
    GRAFANA,
    ANALYZER,
    SDB_AGENT,
)


class PromQLNameError(ValueError):
    """A PromQL text whose metric names cannot be told (unbalanced brackets, a regex on __name__)."""


_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<variable>\$\{[^}]*\}|\$\$?[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z0-9_:.]+\]\])
    | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:[a-zA-Z]+(?:\d+[a-zA-Z]+)*)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_:]*)
    | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@:])
    """,
    re.VERBOSE,
)

# Keywords followed by a parenthesised list of label names, never by an expression.
_LABEL_LIST = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
# Aggregation operators (may be followed by `by (...)` before their parenthesis).
_AGGREGATORS = frozenset(
    {
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "limitk",
        "limit_ratio",
    }
)
_OTHER_KEYWORDS = frozenset({"and", "or", "unless", "atan2", "bool", "offset"})
_NUMBER_WORDS = frozenset({"inf", "nan"})


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(expr: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise PromQLNameError(f"cannot read PromQL at character {pos} of {expr!r}: {expr[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        if kind not in ("space", "comment"):
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _check_balanced(toks: list[_Tok], expr: str) -> None:
    stack: list[_Tok] = []
    for tok in toks:
        if tok.text in ("(", "[", "{"):
            stack.append(tok)
        elif tok.text in _PAIRS and (not stack or stack.pop().text != _PAIRS[tok.text]):
            raise PromQLNameError(f"unbalanced {tok.text!r} at character {tok.pos} of {expr!r}")
    if stack:
        raise PromQLNameError(f"unclosed {stack[-1].text!r} at character {stack[-1].pos} of {expr!r}")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body if text[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def _skip_group(toks: list[_Tok], i: int, expr: str) -> int:
    """Index after the parenthesised group that starts at ``toks[i]`` (a ``(``)."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == "(":
            depth += 1
        elif toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise PromQLNameError(f"unbalanced parentheses in {expr!r}")


def _matcher_names(toks: list[_Tok], start: int, expr: str) -> tuple[set[str], int]:
    """Metric names a ``{...}`` block states (``__name__="x"`` or a quoted name), and the index after it."""
    names: set[str] = set()
    j = start + 1
    item_start = True
    while j < len(toks) and toks[j].text != "}":
        tok = toks[j]
        following = toks[j + 1].text if j + 1 < len(toks) else ""
        if tok.kind == "ident" and tok.text == "__name__" and j + 2 < len(toks):
            op, value = toks[j + 1].text, toks[j + 2]
            if op == "=" and value.kind == "string":
                names.add(_unquote(value.text))
            elif value.kind == "string":
                raise PromQLNameError(
                    f"{expr!r} selects metrics with __name__{op}{value.text}: no single metric name can be told"
                )
        elif tok.kind == "string" and item_start and following in (",", "}"):
            names.add(_unquote(tok.text))  # Prometheus 3: {"metric.name", label="v"}
        item_start = tok.text == ","
        j += 1
    if j >= len(toks):
        raise PromQLNameError(f"unclosed '{{' in {expr!r}")
    return names, j + 1


def metric_names(expr: str) -> set[str]:
    """Every metric name ``expr`` reads: a series selector's name, never a function, keyword or label.

    Skipped: label matchers inside ``{...}`` (but ``__name__="x"`` counts), label lists after
    ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right``, function names (an
    identifier followed by ``(``), aggregators, binary keywords, numbers and durations
    (``5m``, ``1h30m``, ``[1h:5m]``), strings, ``Inf``/``NaN`` and Grafana variables
    (``$app``, ``${app:regex}``, ``$__rate_interval``, ``[[app]]``).
    """
    toks = _tokens(expr)
    _check_balanced(toks, expr)
    names: set[str] = set()
    i = 0
    while i < len(toks):
        tok = toks[i]
        following = toks[i + 1].text if i + 1 < len(toks) else ""
        if tok.text == "{":
            found, i = _matcher_names(toks, i, expr)
            names |= found
            continue
        if tok.kind != "ident":
            i += 1
            continue
        word = tok.text
        if word in _LABEL_LIST:
            i = _skip_group(toks, i + 1, expr) if following == "(" else i + 1
            continue
        if word in _AGGREGATORS or word in _OTHER_KEYWORDS or word.lower() in _NUMBER_WORDS or following == "(":
            i += 1
            continue
        names.add(word)
        i += 1
    return names


_LITERAL_ALTERNATION = re.compile(r"^[A-Za-z0-9_:-]+(?:\|[A-Za-z0-9_:-]+)*$")


def matched_label_values(expr: str, label: str) -> set[str]:
    """The literal values ``expr``'s selectors require of ``label`` (``label="a"``, ``label=~"a|b"``).

    Regexes other than a plain alternation of names (``"5.."``, ``".+"``), negative matchers and
    Grafana variables say nothing certain and are skipped.
    """
    toks = _tokens(expr)
    _check_balanced(toks, expr)
    values: set[str] = set()
    depth = 0
    for i, tok in enumerate(toks):
        depth += {"{": 1, "}": -1}.get(tok.text, 0)
        if depth and tok.kind == "ident" and tok.text == label and i + 2 < len(toks):
            op, value = toks[i + 1].text, toks[i + 2]
            if op in ("=", "=~") and value.kind == "string":
                text = _unquote(value.text)
                if op == "=" or _LITERAL_ALTERNATION.match(text):
                    values.update(text.split("|") if op == "=~" else [text])
    return values


_LABEL_VALUES = re.compile(r"^\s*label_values\s*\((?P<args>.*)\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^\s*query_result\s*\((?P<expr>.*)\)\s*$", re.DOTALL)
_LABEL_NAME = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")


def variable_metric_names(query: str) -> set[str]:
    """Metric names a Grafana Prometheus template variable query reads.

    ``label_values(<selector>, label)`` reads the selector's metric, ``label_values(label)`` none,
    ``query_result(<expr>)`` the expression's; anything else is read as PromQL.
    """
    m = _LABEL_VALUES.match(query)
    if m:
        args = m.group("args")
        if _LABEL_NAME.match(args):
            return set()
        selector, comma, label = args.rpartition(",")
        if not comma or not _LABEL_NAME.match(label):
            raise PromQLNameError(f"label_values query {query!r} does not end in ', <label name>'")
        return metric_names(selector)
    m = _QUERY_RESULT.match(query)
    return metric_names(m.group("expr") if m else query)
