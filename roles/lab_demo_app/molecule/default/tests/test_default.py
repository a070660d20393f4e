"""The demo workload runs under systemd, answers with Micrometer-named metrics and writes logs."""

import json
import time

METRICS = "/actuator/prometheus"


def _get(host, port: int, path: str) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    fetch = f"import urllib.request; print(urllib.request.urlopen('{url}', timeout=5).read().decode())"
    cmd = host.run(f'python3 -c "{fetch}"')
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def test_units_running(host):
    for unit in ("obs-lab-demo-api", "obs-lab-demo-chat", "prometheus-node-exporter"):
        svc = host.service(unit)
        assert svc.is_running, unit
        assert svc.is_enabled, unit


def test_api_metrics_use_micrometer_names(host):
    time.sleep(3)  # let the traffic generator send a few requests
    text = _get(host, 8080, METRICS)
    assert 'hikaricp_connections_max{pool="DoktoriHikariPool"} 10.0' in text
    assert "http_server_requests_seconds_bucket{" in text
    assert 'uri="/api/posts"' in text or 'uri="/api/posts/{id}"' in text or 'uri="/api/users/{id}"' in text
    assert "process_start_time_seconds " in text
    assert "chatbot_responses_total" not in text


def test_chat_metrics_have_chatbot_series(host):
    text = _get(host, 8081, METRICS)
    assert 'tomcat_threads_config_max_threads{name="http-nio-8081"} 100.0' in text
    assert 'hikaricp_connections_max{pool="ChatHikariPool"} 10.0' in text
    assert 'chatbot_user_satisfaction{rating_type="csat"}' in text


def test_health_up(host):
    assert json.loads(_get(host, 8080, "/actuator/health"))["status"] == "UP"


def test_node_exporter_answers(host):
    assert "node_load1 " in _get(host, 9100, "/metrics")


def test_logs_written(host):
    api_log = host.file("/var/log/doktori/api/app.log")
    assert api_log.exists
    assert "obs-lab demo workload 'api' listening on :8080" in api_log.content_string
    access = host.file("/var/log/nginx/access.log")
    assert access.exists
    assert '"obs-lab-demo-traffic/1.0"' in access.content_string
