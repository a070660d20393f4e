from __future__ import annotations

import pytest

from obsctl import common
from obsctl.errors import ObsError


def test_ports_come_from_the_shared_role_defaults() -> None:
    ports = common.defaults()["obs_common_ports"]
    assert common.port("prometheus") == ports["prometheus"]
    assert len(set(ports.values())) == len(ports), "two services share a port"


def test_unknown_service_names_the_file_to_edit() -> None:
    with pytest.raises(ObsError) as exc:
        common.port("nope")
    assert "roles/obs_common/defaults/main.yml" in str(exc.value)


@pytest.mark.parametrize(("text", "seconds"), [("15s", 15), ("5m", 300), ("1h", 3600), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert common.duration_seconds(text) == seconds


def test_bad_duration_is_rejected() -> None:
    with pytest.raises(ObsError):
        common.duration_seconds("fifteen")
