"""obsctl.alloy_syntax and obsctl.validators.alloy on small, hand-written Alloy configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsctl.alloy_syntax import AlloySyntaxError, Expr, Reference, parse, references_in
from obsctl.validators import alloy

GOOD = """
// a comment
/* a block
   comment */
logging {
  level = "info"
}

prometheus.exporter.unix "host" {
  disable_collectors = ["netstat"]
  filesystem {
    mount_points_exclude = "^/(dev|proc)($|/)"
  }
}

discovery.relabel "host" {
  targets = prometheus.exporter.unix.host.targets
  rule {
    target_label = "instance"
    replacement  = "app-1"
  }
}

prometheus.scrape "host" {
  targets    = discovery.relabel.host.output
  job_name   = "node"
  forward_to = [prometheus.remote_write.main.receiver]
}

prometheus.remote_write "main" {
  endpoint {
    url     = "http://10.100.0.1:9090/api/v1/write"
    headers = { "X-Scope" = sys.env("TENANT") }
  }
  external_labels = { env = "prod" }
}

loki.source.file "apps" {
  targets               = [{"__path__" = "/var/log/a.log"}]
  legacy_positions_file = "/var/lib/alloy/promtail-positions.yaml"
  forward_to            = [loki.process.apps.receiver]
}

loki.process "apps" {
  stage.regex {
    expression = "^\\\\S+\\\\s+(?P<level>INFO|WARN)\\\\s"
  }
  forward_to = [loki.write.main.receiver]
}

loki.write "main" {
  endpoint {
    url = `http://10.100.0.1:3100/loki/api/v1/push`
  }
}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.alloy"
    path.write_text(text)
    return path


def test_parses_blocks_labels_attributes_and_values() -> None:
    doc = parse(GOOD)
    names = [(b.name, b.label) for b in doc.blocks]
    assert names[0] == ("logging", None)
    assert ("loki.process", "apps") in names
    scrape = next(b for b in doc.components() if b.name == "prometheus.scrape")
    assert scrape.attr("job_name") == "node"
    forward = scrape.attr("forward_to")
    assert isinstance(forward, list) and isinstance(forward[0], Reference)
    assert forward[0].dotted() == "prometheus.remote_write.main.receiver"
    process = next(b for b in doc.components() if b.name == "loki.process")
    assert process.children("stage.regex")[0].attr("expression") == "^\\\\S+\\\\s+(?P<level>INFO|WARN)\\\\s".replace(
        "\\\\", "\\"
    )
    write = next(b for b in doc.components() if b.name == "loki.write")
    assert write.children("endpoint")[0].attr("url") == "http://10.100.0.1:3100/loki/api/v1/push"


def test_function_calls_keep_their_references() -> None:
    doc = parse("x = concat(a.b.c, [d.e], {k = f.g})\ny = 1 + 2 * -h.i\n")
    value = doc.attributes[0].value
    assert isinstance(value, Expr)
    assert {r.dotted() for r in references_in(value)} == {"a.b.c", "d.e", "f.g"}
    assert {r.dotted() for r in references_in(doc.attributes[1].value)} == {"h.i"}


def test_good_config_has_no_problems(tmp_path: Path) -> None:
    assert alloy.check(_write(tmp_path, GOOD)) == []
    assert alloy.check_endpoints_point_at(_write(tmp_path, GOOD), "10.100.0.1") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a "b" {\n  x = 1\n', "not closed"),
        ('a "b" {\n}\n}\n', "without a matching"),
        ('a "b" {\n  x = "open\n}\n', "unexpected character"),
        ('a "b" {\n  x = "\\d"\n}\n', "unknown escape sequence"),
        ('a "b-c" {\n}\n', "must be an identifier"),
        ('a "b" {\n  x = [1, 2\n}\n', "expected ',' or ']'"),
        ('# not an Alloy comment\na "b" {\n}\n', "unexpected character"),
    ],
)
def test_syntax_errors_carry_a_line(text: str, message: str) -> None:
    with pytest.raises(AlloySyntaxError, match=message) as exc:
        parse(text)
    assert str(exc.value).startswith("line ")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("prometheus.remote_write.main.receiver", "prometheus.remote_write.mian.receiver", "does not name a declared"),
        ("loki.process.apps.receiver]", "loki.process.apps.input]", "exports ['receiver'], not 'input'"),
        ('prometheus.remote_write "main"', 'prometheus.remotewrite "main"', "not a component this checker knows"),
        ("10.100.0.1:9090", "127.0.0.1:9090", "points at this host"),
        (
            'loki.write "main" {',
            'loki.process "apps" {\n  forward_to = [loki.write.main.receiver]\n}\nloki.write "main" {',
            "duplicate component loki.process.apps",
        ),
        ("  forward_to = [loki.write.main.receiver]\n}\n\nloki.write", "}\n\nloki.write", "has no forward_to"),
        (
            'discovery.relabel "host" {\n  targets = prometheus.exporter.unix.host.targets',
            'discovery.relabel "host" {\n  targets = []',
            "prometheus.exporter.unix.host is declared but nothing references it",
        ),
    ],
)
def test_each_problem_is_found(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    problems = alloy.check(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert any(expected in p for p in problems), problems


def test_endpoints_must_be_the_tunnel_address(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("http://10.100.0.1:3100", "http://10.100.0.9:3100"))
    problems = alloy.check_endpoints_point_at(path, "10.100.0.1")
    assert len(problems) == 1 and "loki.write.main" in problems[0] and "10.100.0.9" in problems[0]


def test_otlp_listener_must_be_local(tmp_path: Path) -> None:
    text = GOOD + (
        'otelcol.receiver.otlp "apps" {\n  grpc {\n    endpoint = "0.0.0.0:4317"\n  }\n'
        "  output {\n    traces = [otelcol.exporter.otlp.tempo.input]\n  }\n}\n"
        'otelcol.exporter.otlp "tempo" {\n  client {\n    endpoint = "10.100.0.1:4317"\n  }\n}\n'
    )
    problems = alloy.check(_write(tmp_path, text))
    assert problems == [
        f"{tmp_path / 'config.alloy'}: line {text.count(chr(10), 0, text.index('  grpc')) + 1}: "
        "otelcol.receiver.otlp.apps: the OTLP grpc listener must be bound to localhost, got '0.0.0.0:4317'"
    ]


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert "cannot read" in alloy.check(tmp_path / "missing.alloy")[0]
