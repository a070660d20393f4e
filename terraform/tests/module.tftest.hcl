# Offline module tests: `terraform test` with a mocked AWS provider (no credentials, no network).
# Runs use `command = apply` (against the mock, so nothing is created anywhere): only then are
# values derived from computed ids, such as the rendered user_data, known to the assertions and
# to the module's user_data check block.
# Run: TF_CLI_CONFIG_FILE=ci.tfrc terraform init -backend=false && terraform test
# (tests/contract/test_terraform_module.py runs exactly this).

# Mock values shared by every test file: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  admin_ssh_public_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqng2l/04WI+oqUEN1DnCHM433GJEl2KNjkrNvhafCo test-discarded"]
  # Test fixture, not a real release: the sha256 of an empty file.
  ssm_agent               = { version = "3.3.0.0", sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }
  environment             = "prod"
  region                  = "ap-northeast-2"
  wireguard_ingress_cidrs = ["198.51.100.0/24", "203.0.113.7/32"]
  wireguard_operator_peers = [
    { name = "alice", public_key = "dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", address = "10.100.0.200" },
    { name = "bob", public_key = "c9QqfYYO95iJDSQ78n9Y5KDsvxw8m4/meUEnI6r7OlQ=", address = "10.100.0.201" },
  ]
}

run "security_group_admits_only_wireguard" {
  command = apply

  assert {
    condition     = length(aws_security_group.monitoring.ingress) == 1
    error_message = "the security group must have exactly one ingress rule"
  }
  assert {
    condition = alltrue([for r in aws_security_group.monitoring.ingress :
    r.protocol == "udp" && r.from_port == 51820 && r.to_port == 51820])
    error_message = "the only ingress rule must be udp/51820"
  }
  assert {
    condition     = toset(one(aws_security_group.monitoring.ingress).cidr_blocks) == toset(["198.51.100.0/24", "203.0.113.7/32"])
    error_message = "ingress must come from wireguard_ingress_cidrs, nothing else"
  }
  assert {
    condition     = alltrue([for r in aws_security_group.monitoring.egress : r.protocol != "-1"])
    error_message = "egress must not allow all protocols"
  }
  assert {
    condition     = toset([for r in aws_security_group.monitoring.egress : r.to_port]) == toset([80, 443])
    error_message = "default egress is tcp/80 and tcp/443"
  }
}

run "instance_is_hardened_arm64" {
  command = apply

  assert {
    condition     = aws_instance.monitoring.instance_type == "t4g.small"
    error_message = "instance type must default to t4g.small"
  }
  assert {
    condition     = contains(data.aws_ec2_instance_type.selected.supported_architectures, "arm64") && data.aws_ami.selected.architecture == "arm64"
    error_message = "instance type and AMI must both be arm64"
  }
  assert {
    condition     = aws_instance.monitoring.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required"
  }
  assert {
    condition     = aws_instance.monitoring.metadata_options[0].http_put_response_hop_limit == 2
    error_message = "IMDS hop limit must be 2 so containers can use the instance role"
  }
  assert {
    condition     = aws_instance.monitoring.root_block_device[0].encrypted && aws_instance.monitoring.root_block_device[0].volume_type == "gp3"
    error_message = "root volume must be encrypted gp3"
  }
  assert {
    condition     = aws_ebs_volume.data.encrypted && aws_ebs_volume.data.type == "gp3"
    error_message = "data volume must be encrypted gp3"
  }
  assert {
    condition     = data.aws_ami.selected.owners != null && toset(data.aws_ami.selected.owners) == toset(["136693071363"])
    error_message = "the default AMI lookup must use the Debian project's account"
  }
}

run "eip_and_data_volume_are_attached" {
  command = apply

  assert {
    condition     = aws_eip_association.monitoring.instance_id == aws_instance.monitoring.id
    error_message = "the Elastic IP must be associated with the instance"
  }
  assert {
    condition     = aws_eip_association.monitoring.allocation_id == aws_eip.monitoring.id
    error_message = "the association must use the module's Elastic IP"
  }
  assert {
    condition     = aws_volume_attachment.data.instance_id == aws_instance.monitoring.id && aws_volume_attachment.data.volume_id == aws_ebs_volume.data.id
    error_message = "the data volume must be attached to the instance"
  }
  assert {
    condition     = aws_ebs_volume.data.availability_zone == aws_subnet.public[0].availability_zone
    error_message = "the data volume must take its zone from the subnet, not from the instance"
  }
  assert {
    condition     = output.monitoring_tunnel_address == "10.100.0.1" && output.wireguard_port == 51820
    error_message = "outputs must carry the tunnel address and WireGuard port"
  }
  assert {
    condition     = output.wireguard_public_key_parameter == "/obs-monitoring/prod/wireguard/public-key"
    error_message = "the public key parameter name must follow /<name>/<environment>/wireguard/public-key"
  }
  assert {
    condition     = strcontains(output.wireguard_public_key_command, "aws ssm get-parameter --region ap-northeast-2 --name /obs-monitoring/prod/wireguard/public-key")
    error_message = "the public key command must read the parameter in the right region"
  }
  assert {
    condition     = output.loki_bucket_name == null
    error_message = "the Loki bucket is off by default"
  }
  assert {
    condition     = length(aws_prometheus_workspace.metrics) == 0 && output.amp_remote_write_url == null && output.amp_workspace_endpoint == null
    error_message = "the AMP workspace is off by default (docs/scale-out.md)"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.monitoring.statement : s if startswith(s.sid, "Amp") || startswith(s.sid, "Tempo")]) == 0
    error_message = "with every scale-out switch off the role grants nothing for AMP or Tempo"
  }
}

run "cloud_init_bootstraps_wireguard_and_data_volume" {
  command = apply

  assert {
    condition     = startswith(aws_instance.monitoring.user_data, "#cloud-config\n")
    error_message = "user_data must be a cloud-config document"
  }
  assert {
    condition = alltrue([for p in var.wireguard_operator_peers :
    strcontains(aws_instance.monitoring.user_data, "PublicKey = ${p.public_key}") && strcontains(aws_instance.monitoring.user_data, "AllowedIPs = ${p.address}/32")])
    error_message = "every operator peer must be in wg0.conf"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "Address = 10.100.0.1/24") && strcontains(aws_instance.monitoring.user_data, "ListenPort = 51820")
    error_message = "wg0 must listen on the WireGuard port with the server's tunnel address"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0")
    error_message = "cloud-init must find the data volume by its volume id"
  }
  assert {
    condition     = !strcontains(aws_instance.monitoring.user_data, "PrivateKey")
    error_message = "no private key may appear in user_data"
  }
}

run "day_one_access_over_the_tunnel" {
  command = apply

  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "ssh_authorized_keys:\n  - \"${var.admin_ssh_public_keys[0]}\"\n")
    error_message = "cloud-init must authorize every admin_ssh_public_keys entry for the default user"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "ssh_pwauth: false")
    error_message = "password logins must stay off"
  }
  assert {
    condition     = output.admin_ssh_command == "ssh admin@10.100.0.1"
    error_message = "the SSH command must log in as Debian's default user on the tunnel address"
  }
  assert {
    condition     = one(aws_security_group.monitoring.ingress).protocol == "udp"
    error_message = "SSH must not be opened in the security group: it is reached through the tunnel"
  }
}

run "packages_retry_for_real_and_wg0_waits_for_them" {
  command = apply

  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "apt-get update -q --error-on=any")
    error_message = "apt-get update must fail on any unreachable source, or the retry loop never retries"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "retry 60 10 \"apt-get update --error-on=any\"")
    error_message = "the package update must run in the bounded retry loop"
  }
  assert {
    condition = (
      strcontains(aws_instance.monitoring.user_data, "  - [/usr/local/sbin/obs-packages]\n  - [/usr/local/sbin/obs-data-volume]\n  - [/usr/local/sbin/obs-wireguard-bootstrap]\n")
    )
    error_message = "runcmd must install the packages first and bring wg0 up last"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "wireguard-tools is not installed")
    error_message = "the WireGuard bootstrap must refuse to run without wireguard-tools"
  }
}

run "break_glass_ssm_agent_is_pinned_and_checked" {
  command = apply

  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "https://s3.ap-northeast-2.amazonaws.com/amazon-ssm-ap-northeast-2/3.3.0.0/debian_arm64/amazon-ssm-agent.deb")
    error_message = "the SSM agent must come from the region's bucket, at the pinned version, for the AMI's architecture"
  }
  assert {
    condition     = strcontains(aws_instance.monitoring.user_data, "ssm_agent_sha256=\"${var.ssm_agent.sha256}\"") && strcontains(aws_instance.monitoring.user_data, "sha256sum --check")
    error_message = "the download must be checked against the pinned sha256"
  }
  assert {
    condition     = length(aws_iam_role_policy_attachment.ssm_core) == 1
    error_message = "Session Manager needs AmazonSSMManagedInstanceCore when the agent is installed"
  }
  assert {
    condition     = output.break_glass_command == "aws ssm start-session --region ap-northeast-2 --target ${aws_instance.monitoring.id}"
    error_message = "the break-glass command must target the instance in its region"
  }
}

run "without_ssm_agent_there_is_no_ssm_policy_and_no_promise" {
  command = apply
  # A fresh state: in the shared one the instance already booted with the agent's user_data.
  state_key = "without_ssm_agent"

  variables {
    ssm_agent = null
  }

  assert {
    condition     = length(aws_iam_role_policy_attachment.ssm_core) == 0
    error_message = "no agent, no SSM policy: it would serve nothing"
  }
  assert {
    condition     = !strcontains(aws_instance.monitoring.user_data, "amazon-ssm-agent")
    error_message = "no agent may be installed when ssm_agent is null"
  }
  assert {
    condition     = output.break_glass_command == null
    error_message = "no break-glass command may be promised without the agent"
  }
}

run "loki_bucket_is_private_and_tls_only" {
  command = apply

  variables {
    loki_bucket_enabled = true
  }

  assert {
    condition = (aws_s3_bucket_public_access_block.loki[0].block_public_acls &&
      aws_s3_bucket_public_access_block.loki[0].block_public_policy &&
      aws_s3_bucket_public_access_block.loki[0].ignore_public_acls &&
    aws_s3_bucket_public_access_block.loki[0].restrict_public_buckets)
    error_message = "public access to the Loki bucket must be fully blocked"
  }
  assert {
    condition     = aws_s3_bucket.loki[0].bucket == "obs-monitoring-prod-loki-123456789012"
    error_message = "the bucket name is derived from name, environment and account"
  }
  assert {
    condition     = one(one(aws_s3_bucket_versioning.loki[0].versioning_configuration[*]).status[*]) == "Enabled"
    error_message = "versioning must be enabled"
  }
  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.loki[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "aws:kms"
    error_message = "objects must be encrypted with SSE-KMS"
  }
  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.loki[0].rule : one(r.expiration).days]) == 400
    error_message = "the lifecycle rule must expire objects"
  }
  assert {
    condition     = aws_s3_bucket.loki[0].force_destroy == false
    error_message = "the bucket must not be force-destroyable by default"
  }
}

run "existing_vpc_and_subnet_are_used" {
  command = apply

  variables {
    vpc_id    = "vpc-0aaaabbbbccccdddd"
    subnet_id = "subnet-0aaaabbbbccccdddd"
  }

  override_data {
    target = data.aws_subnet.existing[0]
    values = {
      vpc_id            = "vpc-0aaaabbbbccccdddd"
      availability_zone = "ap-northeast-2c"
    }
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.public) == 0 && length(aws_internet_gateway.this) == 0
    error_message = "no network may be created when vpc_id/subnet_id are given"
  }
  assert {
    condition     = aws_instance.monitoring.subnet_id == "subnet-0aaaabbbbccccdddd" && aws_security_group.monitoring.vpc_id == "vpc-0aaaabbbbccccdddd"
    error_message = "the instance and security group must use the given network"
  }
  assert {
    condition     = aws_ebs_volume.data.availability_zone == "ap-northeast-2c"
    error_message = "the data volume must be in the existing subnet's zone"
  }
}

# The metrics scale-out switch (docs/scale-out.md) together with the bucket: the workspace, the
# outputs the role variables take, and the role's grants, each from scale-out-permissions.yml and
# scoped to the workspace or to Tempo's prefix.
run "amp_workspace_and_scale_out_grants" {
  command   = apply
  state_key = "scale_out"

  variables {
    amp_workspace_enabled = true
    loki_bucket_enabled   = true
  }

  assert {
    condition     = aws_prometheus_workspace.metrics[0].alias == "obs-monitoring-prod"
    error_message = "the workspace is named after the deployment (<name>-<environment>)"
  }
  assert {
    condition     = output.amp_workspace_endpoint == aws_prometheus_workspace.metrics[0].prometheus_endpoint
    error_message = "amp_workspace_endpoint must be the workspace's endpoint"
  }
  assert {
    condition     = output.amp_remote_write_url == "${aws_prometheus_workspace.metrics[0].prometheus_endpoint}api/v1/remote_write"
    error_message = "amp_remote_write_url must be <workspace endpoint>api/v1/remote_write"
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.monitoring.statement : s.actions if s.sid == "AmpRemoteWrite"])) == toset(["aps:RemoteWrite"]) && toset(one([for s in data.aws_iam_policy_document.monitoring.statement : s.resources if s.sid == "AmpRemoteWrite"])) == toset([aws_prometheus_workspace.metrics[0].arn])
    error_message = "Prometheus may remote-write to this workspace only"
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.monitoring.statement : s.actions if s.sid == "AmpQuery"])) == toset(["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"]) && toset(one([for s in data.aws_iam_policy_document.monitoring.statement : s.resources if s.sid == "AmpQuery"])) == toset([aws_prometheus_workspace.metrics[0].arn])
    error_message = "Grafana may query this workspace only, with the four read actions"
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.monitoring.statement : s.resources if s.sid == "TempoBucketObjects"])) == toset(["arn:aws:s3:::obs-monitoring-prod-loki-123456789012/tempo/*"])
    error_message = "object tagging (Tempo) is granted under tempo_bucket_prefix only"
  }
  assert {
    condition     = output.tempo_bucket_prefix == "tempo"
    error_message = "the Tempo prefix is an output for monitoring_stack_tempo_s3_prefix"
  }
}
