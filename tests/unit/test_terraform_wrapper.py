"""obsctl.terraform without running Terraform: output parsing, variable files, error fixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsctl import terraform
from obsctl.errors import ObsError
from obsctl.terraform import Terraform


def test_plain_outputs_unwraps_terraform_output_json():
    raw = {
        "monitoring_public_ip": {"sensitive": False, "type": "string", "value": "198.51.100.23"},
        "wireguard_port": {"sensitive": False, "type": "number", "value": 51820},
        "peers": {"sensitive": False, "type": ["list", "string"], "value": ["a", "b"]},
    }
    assert terraform.plain_outputs(raw) == {
        "monitoring_public_ip": "198.51.100.23",
        "wireguard_port": 51820,
        "peers": ["a", "b"],
    }


def test_plain_outputs_passes_plain_values_through():
    plain = {"monitoring_public_ip": "198.51.100.23", "nested": {"value": 1}}
    assert terraform.plain_outputs(plain) == plain


def test_variables_reach_terraform_with_their_types(tmp_path: Path):
    tf = Terraform(tmp_path)
    variables = {"loki_bucket_enabled": True, "ami_id": None, "wireguard_ingress_cidrs": ["0.0.0.0/0"], "size": 10}
    with tf._var_args([], variables) as args:
        assert len(args) == 1
        path = Path(args[0].removeprefix("-var-file="))
        assert path.name.endswith(".tfvars.json")
        assert json.loads(path.read_text()) == variables
    assert not path.exists(), "the temporary variables file is removed afterwards"


def test_var_files_are_absolute_and_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab.tfvars").write_text('environment = "lab"\n')
    tf = Terraform(tmp_path)
    with tf._var_args([Path("lab.tfvars")], {}) as args:
        assert args == [f"-var-file={tmp_path / 'lab.tfvars'}"]
    with pytest.raises(ObsError, match="does not exist"), tf._var_args([Path("missing.tfvars")], {}):
        pass


def test_missing_module_directory_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ObsError) as err:
        Terraform(tmp_path / "nope")
    assert "does not exist" in err.value.message


def test_missing_terraform_binary_says_how_to_install(tmp_path: Path):
    tf = Terraform(tmp_path, binary="terraform-not-installed-here")
    with pytest.raises(ObsError) as err:
        tf.output()
    assert "Terraform" in (err.value.fix or "")


def test_missing_backend_config_names_the_example(tmp_path: Path):
    tf = Terraform(tmp_path)
    with pytest.raises(ObsError) as err:
        tf.init(backend_config=tmp_path / "prod.s3.tfbackend")
    assert ".s3.tfbackend.example" in (err.value.fix or "")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('Error: Backend initialization required, please run "terraform init"', "terraform init -backend-config"),
        ("Error: Failed to query available provider packages", "TF_CLI_CONFIG_FILE"),
        ("Error: No valid credential sources found", "AWS_ENDPOINT_URL"),
        ("Error: Error acquiring the state lock", "force-unlock"),
        ("Error: Invalid value for variable\n  on envs/prod.tfvars line 17", "tfvars"),
        ("Error: Resource precondition failed", "tfvars"),
        ("something nobody has seen before", "DEFAULT"),
    ],
)
def test_known_failures_get_a_specific_fix(output: str, expected: str):
    assert expected in terraform._fix_for(output, "DEFAULT")


def test_environment_sets_automation_and_cli_config(tmp_path: Path):
    config = tmp_path / "offline.tfrc"
    tf = Terraform(tmp_path, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, cli_config=config)
    env = tf.environment()
    assert env["TF_IN_AUTOMATION"] == "1"
    assert env["TF_INPUT"] == "0"
    assert env["TF_CLI_CONFIG_FILE"] == str(config.resolve())
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"


def test_cli_config_for_mirror_is_offline_only(tmp_path: Path):
    path = terraform.cli_config_for_mirror(Path("/srv/mirror"), tmp_path / "cfg" / "offline.tfrc")
    text = path.read_text()
    assert 'path = "/srv/mirror"' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text
